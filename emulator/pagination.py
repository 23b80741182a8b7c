"""Cursor pagination as in v1: ``after``, ``limit`` (1-120, default 20), ``orderBy=dtCreated``, ``order``.

The cursor is opaque to clients; here it encodes the storage sequence number of the last item served.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Issue, bad_request
from .store import Record, Store

MAX_LIMIT = 120
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class PageRequest:
    after_seq: int | None
    limit: int
    descending: bool


def parse_page_request(query: Mapping[str, str]) -> PageRequest:
    issues: list[Issue] = []
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            issues.append(Issue("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {raw_limit!r}"))
    order_by = query.get("orderBy", "dtCreated")
    if order_by != "dtCreated":
        issues.append(Issue("orderBy", f"must be 'dtCreated', got {order_by!r}"))
    order = query.get("order", "asc")
    if order not in ("asc", "desc"):
        issues.append(Issue("order", f"must be 'asc' or 'desc', got {order!r}"))
    after_seq = None
    if "after" in query:
        after_seq = _decode_cursor(query["after"])
        if after_seq is None:
            issues.append(Issue("after", "is not a cursor this API returned"))
    if issues:
        raise bad_request("invalid pagination parameters", issues)
    return PageRequest(after_seq, limit, order == "desc")


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
    # One extra row tells whether another page exists without a COUNT query.
    rows = store.find(
        kind,
        team,
        parent=parent,
        name=name,
        after_seq=request.after_seq,
        descending=request.descending,
        limit=request.limit + 1,
    )
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    body: dict[str, Any] = {"hasMore": has_more, "items": [render(row) for row in rows]}
    if has_more:
        body["nextPage"] = _encode_cursor(rows[-1].seq)
    return body


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "seq" and number.isdigit() else None
