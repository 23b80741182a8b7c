"""Typed errors of the Paperspace API v1 client.

Every message names the request (method and path) and carries the API's own message and issues. None of
them ever holds the API key: requests are described by method and URL path only, never by headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class GradientApiError(Exception):
    """A request to the Paperspace API failed."""

    request: str  # "POST /v1/deployments"
    message: str
    status: int | None = None
    code: str | None = None
    issues: list[ApiIssue] = field(default_factory=list)
    retry_after: float | None = None

    def __str__(self) -> str:
        status = f"{self.status} {self.code or ''}".strip() if self.status is not None else "no response"
        text = f"{self.request} failed ({status}): {self.message}"
        if self.issues:
            text += "".join(f"\n  - {issue}" for issue in self.issues)
        return text

    @property
    def retryable(self) -> bool:
        return False

    @property
    def maybe_applied(self) -> bool:
        """Whether the server may have carried out the request although it failed."""
        return False


class NotFoundError(GradientApiError):
    pass


class ConflictError(GradientApiError):
    pass


class InvalidRequestError(GradientApiError):
    """400: the API rejected the request; ``issues`` lists each problem."""


class UnauthorizedError(GradientApiError):
    """401 or 403: the key is missing, unknown, or may not do this."""


class RateLimitedError(GradientApiError):
    @property
    def retryable(self) -> bool:
        return True


class ServerError(GradientApiError):
    @property
    def retryable(self) -> bool:
        return True

    @property
    def maybe_applied(self) -> bool:
        # A 5xx may come from a proxy after the backend committed the change.
        return True


@dataclass
class ConnectionFailedError(GradientApiError):
    """No usable response: the connection failed, was dropped, or timed out."""

    sent: bool = True  # False when the request certainly never reached the server

    @property
    def retryable(self) -> bool:
        return True

    @property
    def maybe_applied(self) -> bool:
        return self.sent


_BY_STATUS: dict[int, type[GradientApiError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def error_from_response(request: str, status: int, body: Any, retry_after: float | None) -> GradientApiError:
    message, code, issues = f"HTTP {status}", None, []
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or message)
        code = str(body["code"]) if body.get("code") else None
        raw_issues = body.get("issues")
        for issue in raw_issues if isinstance(raw_issues, list) else []:
            if isinstance(issue, dict):
                # No path is promised; where one comes, it may be a list of segments (zod) or a dotted string.
                path = issue.get("path") or ""
                path = ".".join(map(str, path)) if isinstance(path, list) else str(path)
                issues.append(ApiIssue(path, str(issue.get("message", ""))))
            else:
                issues.append(ApiIssue("", str(issue)))
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else GradientApiError)
    return cls(request, message, status=status, code=code, issues=issues, retry_after=retry_after)
