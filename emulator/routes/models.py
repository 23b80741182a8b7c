"""Models: ``GET|POST /models``, ``GET|DELETE /models/{id}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..artifacts import MODEL, settle_runs
from ..clock import iso
from ..pagination import page, parse_page_request
from ..store import Record
from ..validation import schema_issues
from .common import context, json_object, raise_if, reply
from .datasets import description
from .projects import get_project


def render(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "description": record.data.get("description"),
        "isPublic": record.data.get("isPublic", False),
        "projectId": record.parent,
        "storageProviderId": record.data.get("storageProviderId"),
        "teamId": record.team,
        "dtCreated": iso(record.created),
        "dtModified": iso(record.created),
    }


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    project_id = request.query_params.get("projectId")
    if project_id is not None:
        get_project(ctx, project_id)
    return reply(page(ctx.store, MODEL, ctx.team, parse_page_request(request.query_params), render, parent=project_id))


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    raise_if(schema_issues("requests", body, definition="modelCreate"), "model")
    project_id = body.get("projectId")
    if project_id is not None:
        get_project(ctx, project_id)
    data = {
        "description": description(body.get("description")),
        "isPublic": body["isPublic"],
        "storageProviderId": body.get("storageProviderId"),
    }
    record = ctx.store.insert(
        MODEL, ctx.team, ctx.store.new_id("mo", 12), data, created=ctx.now, parent=project_id, name=body["name"]
    )
    return reply(render(record))


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    return reply(render(ctx.get(MODEL, request.path_params["id"], "model")))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    record = ctx.get(MODEL, request.path_params["id"], "model")
    ctx.store.delete(record)
    return reply({"id": record.id})


routes = [
    Route("/v1/models", list_, methods=["GET"]),
    Route("/v1/models", create, methods=["POST"]),
    Route("/v1/models/{id}", get, methods=["GET"]),
    Route("/v1/models/{id}", delete, methods=["DELETE"]),
]
