"""Project tags (projectTags-list/add/remove): names on a project, each with a numeric id."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import iso
from ..errors import Issue, bad_request, not_found
from ..pagination import page, parse_page_request
from ..store import Record
from .common import context, json_object, raise_if, reply, unknown_fields
from .projects import get_project

MAX_TAG_LENGTH = 256  # the OpenAPI sets no bound; this one is the emulator's (docs/emulator.md)


def _render(record: Record) -> dict[str, Any]:
    return {"id": record.data["number"], "name": record.name, "dtCreated": iso(record.created)}


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    return reply(page(ctx.store, "tag", ctx.team, parse_page_request(request.query_params), _render, parent=project.id))


async def add(request: Request) -> JSONResponse:
    """Adding a tag the project already has answers that tag (a guess: the OpenAPI is silent)."""
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    body = await json_object(request)
    issues: list[Issue] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TAG_LENGTH:
        issues.append(Issue("name", f"is required: a non-empty string of at most {MAX_TAG_LENGTH} characters"))
    unknown_fields(body, {"name"}, issues)
    raise_if(issues, "tag")
    assert isinstance(name, str)
    ident = f"{project.id}/tag/{name}"
    with ctx.store.transaction():
        found = ctx.store.get("tag", ctx.team, ident)
        if found is None:
            number = len(ctx.store.find("tag", ctx.team)) + 1
            found = ctx.store.insert(
                "tag", ctx.team, ident, {"number": number}, created=ctx.now, parent=project.id, name=name
            )
    return reply(_render(found))


async def remove(request: Request) -> JSONResponse:
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    name = request.query_params.get("name")
    if not name:
        raise bad_request("invalid tag removal", [Issue("name", "is required")])
    found = ctx.store.get("tag", ctx.team, f"{project.id}/tag/{name}")
    if found is None:
        raise not_found("tag", name)
    ctx.store.delete(found)
    return reply(_render(found))


routes = [
    Route("/v1/projects/{id}/tags", list_, methods=["GET"]),
    Route("/v1/projects/{id}/tags", add, methods=["POST"]),
    Route("/v1/projects/{id}/tags", remove, methods=["DELETE"]),
]
