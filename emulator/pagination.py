"""Cursor pagination as in v1: ``after``, ``limit`` (1-120, default 20), ``orderBy``, ``order`` (default asc).

The cursor is opaque to clients. Ordered by ``dtCreated`` it encodes the storage sequence number of the
last item served; ordered by a computed field (``dtModified`` of workflow runs) it encodes that field's
value and the sequence number, so a page resumes after the last item served.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Issue, bad_request, echo
from .store import Record, Store

MAX_LIMIT = 120
DEFAULT_LIMIT = 20
MAX_CURSOR_LENGTH = 200  # the cursors this API returns are under 60 characters

_QUERY_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
# Sequence numbers are SQLite rowids: at most 18 digits keeps them inside its 64-bit integers.
_SEQ_CURSOR = re.compile(r"seq:([0-9]{1,18})")
_KEY_CURSOR = re.compile(r"([A-Za-z]+):(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?):([0-9]{1,18})")


@dataclass(frozen=True)
class PageRequest:
    after: tuple[float, int] | None  # (sort key, seq) of the last item served; the key is the seq for dtCreated
    limit: int
    descending: bool
    order_by: str = "dtCreated"


def parse_page_request(query: Mapping[str, str], order_by: tuple[str, ...] = ("dtCreated",)) -> PageRequest:
    """The four documented pagination parameters; any other query parameter is the caller's business."""
    issues: list[Issue] = []
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit")
    if raw_limit is not None:
        limit = _integer(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            issues.append(Issue("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {echo(raw_limit)}"))
    field = query.get("orderBy", "dtCreated")
    if field not in order_by:
        issues.append(Issue("orderBy", f"must be one of {', '.join(map(repr, order_by))}, got {echo(field)}"))
    order = query.get("order", "asc")
    if order not in ("asc", "desc"):
        issues.append(Issue("order", f"must be 'asc' or 'desc', got {echo(order)}"))
    after = None
    if "after" in query:
        after = _decode_cursor(query["after"], field)
        if after is None:
            issues.append(Issue("after", "is not a cursor this API returned for this order"))
    if issues:
        raise bad_request("invalid pagination parameters", issues)
    return PageRequest(after, limit, order == "desc", field)


def parse_limit(query: Mapping[str, str]) -> int | None:
    """A bare ``limit`` (deploymentRuns-get): a positive integer, or None when absent."""
    raw = query.get("limit")
    if raw is None:
        return None
    limit = _integer(raw)
    if limit < 1:
        raise bad_request("invalid query parameters", [Issue("limit", f"must be a positive integer, got {echo(raw)}")])
    return limit


def page(
    store: Store,
    kind: str,
    team: str,
    request: PageRequest,
    render: Callable[[Record], dict[str, Any]],
    *,
    parent: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A page of stored records in creation order (``orderBy=dtCreated``)."""
    # One extra row tells whether another page exists without a COUNT query.
    rows = store.find(
        kind,
        team,
        parent=parent,
        name=name,
        after_seq=int(request.after[1]) if request.after else None,
        descending=request.descending,
        limit=request.limit + 1,
    )
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    body: dict[str, Any] = {"hasMore": has_more, "items": [render(row) for row in rows]}
    if has_more:
        body["nextPage"] = _encode_cursor(request.order_by, rows[-1].seq, rows[-1].seq)
    return body


def page_by_key(
    records: Iterable[Record],
    key: Callable[[Record], float],
    request: PageRequest,
    render: Callable[[Record], dict[str, Any]],
) -> dict[str, Any]:
    """A page of records ordered by a computed key (ties broken by creation order)."""
    keyed = sorted(((key(r), r.seq, r) for r in records), key=lambda item: (item[0], item[1]))
    if request.descending:
        keyed.reverse()
    if request.after is not None:
        after = request.after
        keyed = [k for k in keyed if ((k[0], k[1]) < after if request.descending else (k[0], k[1]) > after)]
    has_more = len(keyed) > request.limit
    keyed = keyed[: request.limit]
    body: dict[str, Any] = {"hasMore": has_more, "items": [render(r) for _, _, r in keyed]}
    if has_more:
        body["nextPage"] = _encode_cursor(request.order_by, keyed[-1][0], keyed[-1][1])
    return body


def _integer(raw: str) -> int:
    """A query integer as ASCII digits (an optional sign, at most 12 digits); 0, which no bound takes, else."""
    return int(raw) if _QUERY_INTEGER.fullmatch(raw) else 0


def _encode_cursor(order_by: str, key: float, seq: int) -> str:
    text = f"seq:{seq}" if order_by == "dtCreated" else f"{order_by}:{key!r}:{seq}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, order_by: str) -> tuple[float, int] | None:
    """The (sort key, seq) of a cursor this API returned for this order, or None for anything else: not
    base64, not ASCII, another order's cursor, a non-finite key, a sequence number out of SQLite's range."""
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if order_by == "dtCreated":
        found = _SEQ_CURSOR.fullmatch(text)
        return (float(found[1]), int(found[1])) if found else None
    found = _KEY_CURSOR.fullmatch(text)
    if found is None or found[1] != order_by:
        return None
    key = float(found[2])
    return (key, int(found[3])) if math.isfinite(key) else None
