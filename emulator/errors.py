"""The v1 error body: ``{code, message, details?, issues?}`` with the tRPC status map."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

STATUS_OF_CODE: dict[str, int] = {
    "BAD_REQUEST": 400,
    "PARSE_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_SUPPORTED": 405,
    "TIMEOUT": 408,
    "CONFLICT": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "TOO_MANY_REQUESTS": 429,
    "CLIENT_CLOSED_REQUEST": 499,
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


# An error lists at most this many issues; one more says how many were left out.
MAX_ISSUES = 100
# Identifiers echoed in messages are cut to this many characters, and every message to MAX_MESSAGE.
MAX_ECHO = 80
MAX_MESSAGE = 500


@dataclass
class Issue:
    path: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": _cut(self.path), "message": _cut(self.message)}


@dataclass
class ApiError(Exception):
    code: str
    message: str
    details: dict[str, Any] | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def status(self) -> int:
        return STATUS_OF_CODE[self.code]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": _cut(self.message)}
        if self.details is not None:
            body["details"] = self.details
        if self.issues:
            body["issues"] = [issue.as_json() for issue in self.issues[:MAX_ISSUES]]
            if len(self.issues) > MAX_ISSUES:
                left_out = len(self.issues) - MAX_ISSUES
                body["issues"].append({"path": "(body)", "message": f"and {left_out} more problem(s)"})
        return body


def render_error(error: ApiError) -> bytes:
    """The error body as UTF-8 JSON. A message can quote what a caller sent: should it hold something JSON
    cannot carry (a lone surrogate), that is escaped rather than turning the error into a 500."""
    body = error.body()
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return json.dumps(_plain(body), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _plain(value: Any) -> Any:
    """``value`` with lone surrogates written as ``\\udxxx`` text and non-finite numbers as null."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _cut(text: str) -> str:
    """A message as answered: at most MAX_MESSAGE characters (they may quote what a caller sent)."""
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def echo(text: str) -> str:
    """A caller's text for a message: cut to MAX_ECHO characters, quoted as ``repr`` does."""
    return repr(text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…")


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{kind} {echo(ident)} not found", details={"kind": kind, "id": ident})


def bad_request(message: str, issues: list[Issue] | None = None) -> ApiError:
    return ApiError("BAD_REQUEST", message, issues=issues or [])
