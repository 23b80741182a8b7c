"""Request bodies at the door: at most MAX_BODY_BYTES, strict JSON, and only values every answer can carry.

Everything a request stores is later rendered as JSON (UTF-8, no NaN): a value that cannot be rendered would
make every listing that shows it fail. So a body is refused (400 ``PARSE_ERROR``) unless it is JSON as RFC 8259
writes it (no ``NaN``, ``Infinity`` or ``-Infinity``), nests at most MAX_DEPTH levels, writes each number in at
most MAX_NUMBER_LENGTH characters, holds finite numbers and integers within ±MAX_SAFE_INTEGER (what JSON
carries exactly, RFC 7493 §2.2), and holds no lone surrogate (``"\\ud800"``: no Unicode text, so not UTF-8).
Each such problem is an issue at its path; the store (emulator.store) refuses them again at write time.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import ApiError, Issue

# The largest request body, in bytes (Content-Length, or what a chunked body adds up to): 413 past it.
MAX_BODY_BYTES = 1024 * 1024
# Request bodies may nest at most this deep (the emulator's limit; Paperspace documents none).
MAX_DEPTH = 32
# A number literal is at most this many characters (a 5,000-digit one would cost seconds to convert).
MAX_NUMBER_LENGTH = 64
# Integers beyond this lose precision as IEEE doubles (JavaScript, JSON parsers, Pulumi's gRPC).
MAX_SAFE_INTEGER = 2**53 - 1


class _Refused:
    """Stands in for a number the parser met but the API does not take, until it is reported at its path."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _constant(token: str) -> _Refused:
    return _Refused(f"{token} is not a JSON number; numbers must be finite")


def _integer(text: str) -> int | _Refused:
    if len(text) > MAX_NUMBER_LENGTH:
        return _Refused(f"a number of {len(text)} characters; at most {MAX_NUMBER_LENGTH} are taken")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        return _Refused(f"{text} is outside ±(2^53 - 1), the integers JSON carries exactly")
    return value


def _float(text: str) -> float | _Refused:
    if len(text) > MAX_NUMBER_LENGTH:
        return _Refused(f"a number of {len(text)} characters; at most {MAX_NUMBER_LENGTH} are taken")
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"{text} is too large: numbers must be finite")
    return value


def parse_json(raw: bytes) -> Any:
    """The document of a request body (``{}`` when empty), or a 400 ``PARSE_ERROR`` naming every problem."""
    if not raw:
        return {}
    try:
        document = json.loads(raw, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except RecursionError as error:
        raise ApiError("PARSE_ERROR", f"request body nests deeper than {MAX_DEPTH} levels") from error
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise ApiError("PARSE_ERROR", f"request body is not valid JSON: {error}") from error
    issues, too_deep = _problems(document)
    if too_deep:
        raise ApiError("PARSE_ERROR", f"request body nests deeper than {MAX_DEPTH} levels")
    if issues:
        raise ApiError(
            "PARSE_ERROR", f"request body holds values the API does not take: {len(issues)} problem(s)", issues=issues
        )
    return document


def _problems(document: Any) -> tuple[list[Issue], bool]:
    """Refused numbers and lone surrogates with their paths, and whether the document nests too deep.

    Iterative (a deep document must not exhaust the stack); stops descending past MAX_DEPTH."""
    issues: list[Issue] = []
    pending: list[tuple[Any, int, tuple[str | int, ...]]] = [(document, 0, ())]
    while pending:
        node, depth, path = pending.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                return issues, True
            if isinstance(node, dict):
                for key, value in node.items():
                    if not _is_text(key):
                        issues.append(Issue(dotted(path), f"a key holds {_surrogate_note(key)}"))
                    pending.append((value, depth + 1, (*path, key)))
            else:
                pending += [(value, depth + 1, (*path, index)) for index, value in enumerate(node)]
        elif isinstance(node, _Refused):
            issues.append(Issue(dotted(path), node.reason))
        elif isinstance(node, str) and not _is_text(node):
            issues.append(Issue(dotted(path), f"holds {_surrogate_note(node)}"))
    issues.sort(key=lambda issue: issue.path)
    return issues, False


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate_note(value: str) -> str:
    first = next(c for c in value if "\ud800" <= c <= "\udfff")
    return f"a lone surrogate (U+{ord(first):04X}), which is not Unicode text"


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udxxx`` escapes, so that it can be rendered as UTF-8."""
    return text if _is_text(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def dotted(path: tuple[str | int, ...]) -> str:
    """A path as issues write it: ``config.env[2].value``; ``(body)`` for the whole document."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(printable(part))
    return ".".join(parts) or "(body)"
