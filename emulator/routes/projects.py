"""Projects: ``POST|GET /projects``, ``GET|PUT|DELETE /projects/{id}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import iso
from ..errors import ApiError, Issue
from ..pagination import page, parse_page_request
from ..store import Record
from .common import Context, context, json_object, raise_if, reply, required_string, unknown_fields

# Set only for GitHub-connected projects, which the emulator does not make: always null here.
_REPOSITORY_FIELDS = ("repoName", "repoNodeId", "repoUrl")


def render(record: Record) -> dict[str, Any]:
    # projects-get has no dtModified, and dtDeleted is optional but not nullable: a live project has none.
    return {
        "id": record.id,
        "name": record.name,
        "dtCreated": iso(record.created),
        **{key: None for key in _REPOSITORY_FIELDS},
    }


def get_project(ctx: Context, project_id: str) -> Record:
    return ctx.get("project", project_id, "project")


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    issues: list[Issue] = []
    name = required_string(body, "name", issues)
    unknown_fields(body, {"name"}, issues)
    raise_if(issues, "project")
    record = ctx.store.insert("project", ctx.team, ctx.store.new_id("p"), {}, created=ctx.now, name=name)
    return reply(render(record))


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(page(ctx.store, "project", ctx.team, parse_page_request(request.query_params), render))


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render(get_project(ctx, request.path_params["id"])))


async def update(request: Request) -> JSONResponse:
    ctx = context(request)
    record = get_project(ctx, request.path_params["id"])
    body = await json_object(request)
    issues: list[Issue] = []
    name = required_string(body, "name", issues)
    unknown_fields(body, {"name"}, issues)
    raise_if(issues, "project")
    record.name = name
    ctx.store.save(record)
    return reply(render(record))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    record = get_project(ctx, request.path_params["id"])
    holders = {
        kind: [f"{r.name} ({r.id})" for r in ctx.store.find(kind, ctx.team, parent=record.id)]
        for kind in ("deployment", "workflow")
    }
    if any(holders.values()):
        held = "; ".join(f"{kind}s: {', '.join(names)}" for kind, names in holders.items() if names)
        raise ApiError(
            "CONFLICT",
            f"project {record.id!r} still holds resources; delete them first ({held})",
            details={f"{kind}s": names for kind, names in holders.items() if names},
        )
    with ctx.store.transaction():
        # Secrets, models and tags live inside the project and go with it (a guess; see docs/emulator.md).
        for kind in ("secret", "model", "tag"):
            for child in ctx.store.find(kind, ctx.team, parent=record.id):
                ctx.store.delete(child)
        ctx.store.delete(record)
    return reply(render(record))


routes = [
    Route("/v1/projects", create, methods=["POST"]),
    Route("/v1/projects", list_, methods=["GET"]),
    Route("/v1/projects/{id}", get, methods=["GET"]),
    Route("/v1/projects/{id}", update, methods=["PUT"]),
    Route("/v1/projects/{id}", delete, methods=["DELETE"]),
]
