"""Builds the ASGI application: v1 routes, admin routes, JSON errors, and the gate around them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router

from .clock import Clock
from .control import Control, RateLimiter
from .errors import ApiError, render_error
from .gate import Gate
from .routes import admin, datasets, deployments, models, projects, secrets, session, tags, workflows
from .settings import Settings
from .store import Store

_CODE_OF_STATUS = {404: "NOT_FOUND", 405: "METHOD_NOT_SUPPORTED", 400: "BAD_REQUEST"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    # A body refused part-way through is never read to its end: the connection closes after the answer.
    headers = {"connection": "close"} if exc.code == "PAYLOAD_TOO_LARGE" else None
    return Response(render_error(exc), status_code=exc.status, media_type="application/json", headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "BAD_REQUEST")
    message = f"no route for {request.method} {request.url.path}" if exc.status_code in (404, 405) else exc.detail
    return JSONResponse({"code": code, "message": message}, status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return JSONResponse({"code": "INTERNAL_SERVER_ERROR", "message": "internal error"}, status_code=500)


def build_app(settings: Settings, store: Store) -> Gate:
    routes = [
        *session.routes,
        *projects.routes,
        *secrets.routes,
        *tags.routes,
        *deployments.routes,
        *workflows.routes,
        *models.routes,
        *datasets.routes,
        *admin.routes,
    ]
    control = Control(limiter=RateLimiter(settings.rate_limit) if settings.rate_limit else None)
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
    )
    # "/v1/projects/" is a 404 in the v1 error shape, not Starlette's redirect to "/v1/projects": every answer
    # of the emulator is a 200 or a v1 error.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.store = store
    app.state.control = control
    app.state.clock = Clock()
    return Gate(app, Router(routes=routes), settings, control)
