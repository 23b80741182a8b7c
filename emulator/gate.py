"""The outermost ASGI layer: authentication, rate limits, fault injection and statistics for ``/v1``.

It must stay outermost: to drop a connection it reaches uvicorn's transport through the ``send`` callable
that uvicorn passes in (a bound method of its request cycle).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .body import MAX_BODY_BYTES
from .control import Control
from .errors import ApiError, render_error
from .settings import Settings

UNROUTED = "(unmatched)"
PUBLIC_ROUTES = frozenset({"/v1/health"})
_CONVERTER = re.compile(r":[a-z]+}")


class Gate:
    def __init__(self, app: ASGIApp, router: Router, settings: Settings, control: Control) -> None:
        self.app = app
        self.router = router
        self.settings = settings
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        receive = _bounded(receive)
        path: str = scope["path"]
        if path.startswith("/_emulator"):
            if not _from_loopback(scope):
                await _send_error(send, ApiError("FORBIDDEN", "the /_emulator admin API answers loopback only"))
            elif _declared_length(scope) > MAX_BODY_BYTES:
                await _send_error(send, too_large())
            else:
                await self.app(scope, receive, send)
            return
        if not path.startswith("/v1"):
            await self.app(scope, receive, send)
            return

        method: str = scope["method"]
        route = self._route_template(scope)
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._serve_v1(scope, receive, counting_send, send, method, route)
        finally:
            self.control.stats.record(method, route, status)

    async def _serve_v1(
        self, scope: Scope, receive: Receive, send: Send, raw_send: Send, method: str, route: str
    ) -> None:
        key = _bearer(scope)
        team = self.settings.api_keys.get(key) if key else None
        if route not in PUBLIC_ROUTES:
            if team is None:
                reason = "missing Authorization: Bearer header" if key is None else "unknown API key"
                await _send_error(send, ApiError("UNAUTHORIZED", reason))
                return
            scope.setdefault("state", {})["team"] = team
        limiter = self.control.limiter
        if limiter is not None and key is not None:
            wait = limiter.retry_after(key)
            if wait is not None:
                error = ApiError("TOO_MANY_REQUESTS", f"rate limit of {limiter.per_second} requests per second")
                await _send_error(send, error, retry_after=wait)
                return
        if _declared_length(scope) > MAX_BODY_BYTES:
            await _send_error(send, too_large())  # before reading a byte of it
            return

        plan = self.control.faults
        fault = plan.draw(method, route) if plan is not None else None
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "latency":
            assert plan is not None
            await asyncio.sleep(plan.latency_ms / 1000)
            await self.app(scope, receive, send)
        elif fault == "http500":
            await _send_error(send, ApiError("INTERNAL_SERVER_ERROR", "injected fault: internal server error"))
        elif fault == "http503":
            await _send_error(send, ApiError("SERVICE_UNAVAILABLE", "injected fault: service unavailable"))
        elif fault == "http429":
            assert plan is not None
            error = ApiError("TOO_MANY_REQUESTS", "injected fault: too many requests")
            await _send_error(send, error, retry_after=plan.retry_after_seconds)
        elif fault == "reset":
            _drop_connection(raw_send)
        elif fault == "lost_response":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)  # the change is committed ...
            _drop_connection(raw_send)  # ... and the caller never hears of it

    def _route_template(self, scope: Scope) -> str:
        partial = None
        for route in self.router.routes:
            try:
                match, _ = route.matches(scope)
            except Exception:  # a path parameter's converter refused the value: not this route
                continue
            if match is Match.FULL:
                return _template(route)
            if match is Match.PARTIAL and partial is None:
                partial = _template(route)
        return partial or UNROUTED


def _template(route: object) -> str:
    # "/v1/things/{n:int}" -> "/v1/things/{n}": converters (no route has one now) are Starlette's detail.
    return _CONVERTER.sub("}", str(getattr(route, "path", UNROUTED)))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _from_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _drop_connection(send: Send) -> None:
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # not under uvicorn's h11 protocol: the closest we can do is an error
        raise ConnectionAbortedError("injected fault: connection dropped")
    transport.abort()


def too_large() -> ApiError:
    return ApiError("PAYLOAD_TOO_LARGE", f"request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)")


def _declared_length(scope: Scope) -> int:
    """The body's Content-Length (h11 has checked it is digits), 0 without one."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _bounded(receive: Receive) -> Receive:
    """``receive`` that refuses a body, chunked or not, once more than MAX_BODY_BYTES of it has arrived; the
    ApiError reaches the app's error handler through the handler that was reading the body."""
    received = 0

    async def bounded_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise too_large()
        return message

    return bounded_receive


async def _send_error(send: Send, error: ApiError, retry_after: int | None = None) -> None:
    body = render_error(error)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if error.code == "PAYLOAD_TOO_LARGE":
        headers.append((b"connection", b"close"))  # the rest of the body is never read
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
