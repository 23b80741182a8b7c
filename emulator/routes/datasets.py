"""Datasets and their versions: ``/datasets``, ``/datasets/{id}``, ``/datasets/{id}/versions[/{version}]``.

A version is created uncommitted; ``PUT {isCommitted: true}`` commits it, and a committed version stays
committed. Workflow jobs with a dataset output add committed versions when they succeed (emulator.artifacts).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..artifacts import DATASET, VERSION, insert_version, new_version_id, runs_using_dataset, settle_runs
from ..clock import iso
from ..errors import ApiError, Issue, bad_request
from ..pagination import page, page_by_key, parse_page_request
from ..store import Record
from ..validation import schema_issues
from .common import Context, context, json_object, raise_if, reply


def render(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "description": record.data["description"],
        "isPublic": record.data["isPublic"],
        "storageProviderId": record.data["storageProviderId"],
        "teamId": record.team,
        "dtCreated": iso(record.created),
        "dtModified": record.data.get("dtModified", iso(record.created)),
    }


def render_version(record: Record) -> dict[str, Any]:
    return {
        "datasetId": record.parent,
        "version": record.name,
        "isCommitted": record.data["isCommitted"],
        "message": record.data["message"],
        "metadata": record.data["metadata"],
        "tags": record.data["tags"],
        "url": record.data["url"],
        "usageBytes": record.data["usageBytes"],
        "userId": record.data["userId"],
        "dtCreated": iso(record.created),
        "dtModified": record.data.get("dtModified", iso(record.created)),
    }


def description(value: Any) -> str | None:
    """A description as v1 takes it: a string, null, or ``{}`` (read as null)."""
    return value if isinstance(value, str) else None


def _tags(raw: str) -> list[str]:
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


def _get_dataset(ctx: Context, request: Request, key: str = "id") -> Record:
    return ctx.get(DATASET, request.path_params[key], "dataset")


def _get_version(ctx: Context, request: Request) -> Record:
    dataset = _get_dataset(ctx, request, "datasetId")
    version = request.path_params["version"]
    return ctx.get(VERSION, f"{dataset.id}:{version}", f"version of dataset {dataset.id!r}")


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    raise_if(schema_issues("requests", body, definition="datasetCreate"), "dataset")
    data = {
        "description": description(body.get("description")),
        "isPublic": body["isPublic"],
        "storageProviderId": body.get("storageProviderId"),
    }
    # Ids are 15 characters, like the docs' examples (dsr8k5qzn401lb5).
    record = ctx.store.insert(DATASET, ctx.team, ctx.store.new_id("ds", 13), data, created=ctx.now, name=body["name"])
    return reply(render(record))


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    query = request.query_params
    request_page = parse_page_request(query)
    privacy = query.get("privacy")
    if privacy is not None and privacy not in ("PUBLIC", "PRIVATE"):
        raise bad_request("invalid query parameters", [Issue("privacy", "must be 'PUBLIC' or 'PRIVATE'")])
    team = query.get("teamId")
    if team is not None and team != ctx.team:
        return reply({"hasMore": False, "items": []})  # the emulator keeps no other team's datasets visible
    if privacy is None:
        return reply(page(ctx.store, DATASET, ctx.team, request_page, render))
    public = privacy == "PUBLIC"
    matching = [r for r in ctx.store.find(DATASET, ctx.team) if r.data["isPublic"] == public]
    return reply(page_by_key(matching, lambda r: float(r.seq), request_page, render))


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render(_get_dataset(ctx, request)))


async def update(request: Request) -> JSONResponse:
    """``PUT /datasets/{id} {name?, description?}``: the only two fields datasets-update takes."""
    ctx = context(request)
    dataset = _get_dataset(ctx, request)
    body = await json_object(request)
    raise_if(schema_issues("requests", body, definition="datasetUpdate"), "dataset")
    if "name" in body:
        dataset.name = body["name"]
    if "description" in body:
        dataset.data["description"] = description(body["description"])
    dataset.data["dtModified"] = iso(ctx.now)
    ctx.store.save(dataset)
    return reply(render(dataset))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    dataset = _get_dataset(ctx, request)
    settle_runs(ctx)
    using = runs_using_dataset(ctx, dataset.id)
    if using:
        raise ApiError(
            "CONFLICT",
            f"dataset {dataset.id!r} is in use by active workflow runs ({', '.join(using)}); cancel them or wait",
            details={"runs": using},
        )
    with ctx.store.transaction():
        for version in ctx.store.find(VERSION, ctx.team, parent=dataset.id):
            ctx.store.delete(version)
        ctx.store.delete(dataset)
    return reply({"id": dataset.id})


async def create_version(request: Request) -> JSONResponse:
    ctx = context(request)
    dataset = _get_dataset(ctx, request, "datasetId")
    body = await json_object(request)
    raise_if(schema_issues("requests", body, definition="datasetVersionCreate"), "dataset version")
    with ctx.store.transaction():
        record = insert_version(
            ctx, dataset.id, new_version_id(ctx, dataset.id), ctx.now, committed=False, message=body.get("message")
        )
        record.data["metadata"] = body.get("metadata")
        record.data["tags"] = _tags(body.get("tags", ""))
        ctx.store.save(record)
    return reply(render_version(record))


async def list_versions(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    dataset = _get_dataset(ctx, request, "datasetId")
    query = request.query_params
    request_page = parse_page_request(query)
    if "tags" not in query:
        return reply(page(ctx.store, VERSION, ctx.team, request_page, render_version, parent=dataset.id))
    wanted = set(_tags(query["tags"]))
    matching = [v for v in ctx.store.find(VERSION, ctx.team, parent=dataset.id) if wanted <= set(v.data["tags"])]
    return reply(page_by_key(matching, lambda r: float(r.seq), request_page, render_version))


async def get_version(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    return reply(render_version(_get_version(ctx, request)))


async def update_version(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    record = _get_version(ctx, request)
    body = await json_object(request)
    issues = schema_issues("requests", body, definition="datasetVersionUpdate")
    if body.get("isCommitted") is False and record.data["isCommitted"]:
        issues.append(Issue("isCommitted", "a committed version cannot be uncommitted"))
    raise_if(issues, "dataset version")
    if body.get("isCommitted"):
        record.data["isCommitted"] = True
    for key in ("message", "metadata"):
        if key in body:
            record.data[key] = body[key]
    if "tags" in body:
        record.data["tags"] = _tags(body["tags"])
    record.data["dtModified"] = iso(ctx.now)
    ctx.store.save(record)
    return reply(render_version(record))


routes = [
    Route("/v1/datasets", create, methods=["POST"]),
    Route("/v1/datasets", list_, methods=["GET"]),
    Route("/v1/datasets/{id}", get, methods=["GET"]),
    Route("/v1/datasets/{id}", update, methods=["PUT"]),
    Route("/v1/datasets/{id}", delete, methods=["DELETE"]),
    Route("/v1/datasets/{datasetId}/versions", create_version, methods=["POST"]),
    Route("/v1/datasets/{datasetId}/versions", list_versions, methods=["GET"]),
    Route("/v1/datasets/{datasetId}/versions/{version}", get_version, methods=["GET"]),
    Route("/v1/datasets/{datasetId}/versions/{version}", update_version, methods=["PUT"]),
]
