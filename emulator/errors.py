"""The v1 error body: ``{code, message, details?, issues?}`` with the tRPC status map."""

from __future__ import annotations

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


@dataclass
class Issue:
    path: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


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
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        if self.issues:
            body["issues"] = [issue.as_json() for issue in self.issues]
        return body


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{kind} {ident!r} not found", details={"kind": kind, "id": ident})


def bad_request(message: str, issues: list[Issue] | None = None) -> ApiError:
    return ApiError("BAD_REQUEST", message, issues=issues or [])
