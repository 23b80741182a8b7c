"""Project secrets. Values are write-only: never returned, never logged, and kept only as a digest."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import iso
from ..errors import ApiError, Issue
from ..pagination import page, parse_page_request
from ..store import Record
from .common import Context, context, json_object, raise_if, reply, unknown_fields
from .projects import get_project

_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def _attached(ctx: Context, project_id: str) -> set[str]:
    """Names of secrets that a deployment of the project references as ``secret:NAME`` in its env."""
    names: set[str] = set()
    for deployment in ctx.store.find("deployment", ctx.team, parent=project_id):
        specs = ctx.store.find("spec", ctx.team, parent=deployment.id, descending=True, limit=1)
        for item in specs[0].data["data"].get("env", []) if specs else []:
            if item["value"].startswith("secret:"):
                names.add(item["value"].removeprefix("secret:"))
    return names


def _render(record: Record, attached: set[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": record.name,
        "dtCreated": iso(record.created),
        "dtModified": record.data.get("dtModified", iso(record.created)),
    }
    if attached is not None:
        body["hasDeploymentAttached"] = record.name in attached
    return body


def _value(body: dict[str, Any], issues: list[Issue]) -> str:
    value = body.get("value")
    if not isinstance(value, str) or value == "":
        issues.append(Issue("value", "is required and must be a non-empty string"))
        return ""
    return value


def _stored(value: str) -> dict[str, str]:
    """What the emulator keeps of a value: a digest, never the value. Paperspace must keep values to inject them;
    the emulator never reads one back, so its state files hold none (tests compare digests)."""
    return {"sha256": hashlib.sha256(value.encode()).hexdigest()}


def _get_secret(ctx: Context, project_id: str, name: str) -> Record:
    return ctx.get("secret", f"{project_id}/{name}", f"secret of project {project_id!r} named")


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    attached = _attached(ctx, project.id)
    return reply(
        page(
            ctx.store,
            "secret",
            ctx.team,
            parse_page_request(request.query_params),
            lambda r: _render(r, attached),
            parent=project.id,
        )
    )


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    body = await json_object(request)
    issues: list[Issue] = []
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        issues.append(Issue("name", "is required and must match ^[a-zA-Z][a-zA-Z0-9_]*$"))
    value = _value(body, issues)
    unknown_fields(body, {"name", "value"}, issues)
    raise_if(issues, "secret")
    ident = f"{project.id}/{name}"
    if ctx.store.get("secret", ctx.team, ident) is not None:
        raise ApiError("CONFLICT", f"project {project.id!r} already has a secret named {name!r}")
    record = ctx.store.insert("secret", ctx.team, ident, _stored(value), created=ctx.now, parent=project.id, name=name)
    return reply(_render(record))


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    record = _get_secret(ctx, project.id, request.path_params["name"])
    return reply(_render(record, _attached(ctx, project.id)))


async def update(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    record = _get_secret(ctx, project.id, request.path_params["name"])
    body = await json_object(request)
    issues: list[Issue] = []
    value = _value(body, issues)
    unknown_fields(body, {"value"}, issues)
    raise_if(issues, "secret")
    record.data = {**_stored(value), "dtModified": iso(ctx.now)}
    ctx.store.save(record)
    return reply(_render(record))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    record = _get_secret(ctx, project.id, request.path_params["name"])
    ctx.store.delete(record)
    return reply({"name": record.name})


routes = [
    Route("/v1/projects/{id}/secrets", list_, methods=["GET"]),
    Route("/v1/projects/{id}/secrets", create, methods=["POST"]),
    Route("/v1/projects/{id}/secrets/{name}", get, methods=["GET"]),
    Route("/v1/projects/{id}/secrets/{name}", update, methods=["PATCH"]),
    Route("/v1/projects/{id}/secrets/{name}", delete, methods=["DELETE"]),
]
