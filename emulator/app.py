"""Builds the ASGI application: v1 routes, admin routes, JSON errors, and the gate around them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router

from .clock import Clock
from .control import Control, RateLimiter
from .errors import ApiError
from .gate import Gate
from .routes import admin, datasets, deployments, models, projects, secrets, session, workflows
from .settings import Settings
from .store import Store

_CODE_OF_STATUS = {404: "NOT_FOUND", 405: "METHOD_NOT_SUPPORTED", 400: "BAD_REQUEST"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


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
    app.state.settings = settings
    app.state.store = store
    app.state.control = control
    app.state.clock = Clock()
    return Gate(app, Router(routes=routes), settings, control)
