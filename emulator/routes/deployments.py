"""Deployments: the upsert ``POST /deployments``, reads, runs, history and delete."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import iso
from ..deployment_lifecycle import env_hooks, latest_spec_view, runs_view, timeline
from ..errors import ApiError, Issue, bad_request, not_found
from ..pagination import page, parse_page_request
from ..store import Record
from ..validation import schema_issues
from .common import Context, context, json_object, raise_if, reply, unknown_fields
from .projects import get_project


def _specs(ctx: Context, deployment: Record) -> list[Record]:
    return ctx.store.find("spec", ctx.team, parent=deployment.id, descending=True)


def _timeline(ctx: Context, spec: Record) -> Any:
    return timeline(spec.id, spec.data["data"], spec.created, ctx.settings.time_scale)


def spec_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def render(ctx: Context, deployment: Record) -> dict[str, Any]:
    specs = _specs(ctx, deployment)
    latest = specs[0] if specs else None
    return {
        "id": deployment.id,
        "name": deployment.name,
        "projectId": deployment.parent,
        "teamId": deployment.team,
        "endpoint": f"https://{deployment.id}.deployments.emulator.invalid",
        "dtCreated": iso(deployment.created),
        "dtModified": iso(latest.created) if latest else iso(deployment.created),
        "latestSpecHash": spec_hash(latest.data["data"]) if latest else None,
        "latestSpec": latest_spec_view(_timeline(ctx, latest), latest.data, ctx.now) if latest else None,
    }


def _hook_issues(config: dict[str, Any]) -> list[Issue]:
    hooks = env_hooks(config)
    issues = []
    if "EMULATOR_READY_SECONDS" in hooks:
        try:
            float(hooks["EMULATOR_READY_SECONDS"])
        except ValueError:
            issues.append(Issue("config.env.EMULATOR_READY_SECONDS", "must be a number of seconds"))
    if hooks.get("EMULATOR_CRASH", "1") not in ("0", "1"):
        issues.append(Issue("config.env.EMULATOR_CRASH", "must be '0' or '1'"))
    return issues


def _config_issues(ctx: Context, config: Any) -> list[Issue]:
    issues = schema_issues("deployment-config", config, prefix="config")
    if issues:
        return issues
    names = [item["name"] for item in config.get("env", [])]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        issues.append(Issue("config.env", f"variable {duplicate!r} is set more than once"))
    for index, integration in enumerate(config.get("integrations", [])):
        if integration["type"] == "model" and ctx.store.get("model", ctx.team, integration["id"]) is None:
            issues.append(Issue(f"config.integrations[{index}].id", f"model {integration['id']!r} not found"))
    return issues + _hook_issues(config)


async def upsert(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    issues: list[Issue] = []
    unknown_fields(body, {"projectId", "config", "deploymentId"}, issues)
    project_id = body.get("projectId")
    if not isinstance(project_id, str) or not project_id:
        issues.append(Issue("projectId", "is required and must be a non-empty string"))
    deployment_id = body.get("deploymentId")
    if deployment_id is not None and not isinstance(deployment_id, str):
        issues.append(Issue("deploymentId", "must be a string or null"))
    config = body.get("config")
    issues += _config_issues(ctx, config) if config is not None else [Issue("config", "is required")]
    raise_if(issues, "deployment")
    assert isinstance(config, dict)  # validated above
    project = get_project(ctx, str(project_id))
    name: str = config["name"]

    with ctx.store.transaction():
        if deployment_id:
            deployment = ctx.get("deployment", deployment_id, "deployment")
            if deployment.parent != project.id:
                raise bad_request(
                    f"deployment {deployment.id!r} belongs to project {deployment.parent!r}, not {project.id!r}",
                    [Issue("projectId", "a deployment cannot move to another project")],
                )
            clash = [
                d for d in ctx.store.find("deployment", ctx.team, parent=project.id, name=name) if d.id != deployment.id
            ]
            if clash:
                raise ApiError(
                    "CONFLICT", f"project {project.id!r} already has a deployment named {name!r} ({clash[0].id})"
                )
        else:
            # Without an id the upsert matches by name within the project (docs: names are unique per project).
            existing = ctx.store.find("deployment", ctx.team, parent=project.id, name=name)
            deployment = (
                existing[0]
                if existing
                else ctx.store.insert(
                    "deployment", ctx.team, ctx.store.new_id("d", 12), {}, created=ctx.now, parent=project.id, name=name
                )
            )
        if deployment.name != name:
            deployment.name = name
            ctx.store.save(deployment)
        specs = _specs(ctx, deployment)
        # An identical config is no new version: upserts are idempotent, so a retried request is harmless.
        if not specs or specs[0].data["data"] != config:
            spec_id = ctx.store.new_id("s", 12)
            ctx.store.insert(
                "spec",
                ctx.team,
                spec_id,
                {"id": spec_id, "deploymentId": deployment.id, "userId": _user(ctx), "data": config},
                created=ctx.now,
                parent=deployment.id,
            )
    return reply({"deploymentId": deployment.id})


def _user(ctx: Context) -> str:
    return "u" + hashlib.sha256(ctx.team.encode()).hexdigest()[:10]


async def list_(request: Request) -> JSONResponse:
    ctx = context(request)
    query = request.query_params
    project_id = query.get("projectId")
    if project_id is not None:
        get_project(ctx, project_id)
    body = page(
        ctx.store,
        "deployment",
        ctx.team,
        parse_page_request(query),
        lambda r: render(ctx, r),
        parent=project_id,
        name=query.get("name"),
    )
    return reply(body)


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render(ctx, ctx.get("deployment", request.path_params["id"], "deployment")))


async def runs(request: Request) -> JSONResponse:
    ctx = context(request)
    deployment = ctx.get("deployment", request.path_params["id"], "deployment")
    return reply(runs_view([_timeline(ctx, spec) for spec in _specs(ctx, deployment)], ctx.now))


async def history(request: Request) -> JSONResponse:
    ctx = context(request)
    deployment = ctx.get("deployment", request.path_params["id"], "deployment")

    def render_spec(spec: Record) -> dict[str, Any]:
        return latest_spec_view(_timeline(ctx, spec), spec.data, ctx.now)

    return reply(
        page(ctx.store, "spec", ctx.team, parse_page_request(request.query_params), render_spec, parent=deployment.id)
    )


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    ident = request.path_params["id"]
    deployment = ctx.store.get("deployment", ctx.team, ident)
    if deployment is None:
        raise not_found("deployment", ident)
    with ctx.store.transaction():
        for spec in _specs(ctx, deployment):
            ctx.store.delete(spec)
        ctx.store.delete(deployment)
    return reply({"id": deployment.id})


routes = [
    Route("/v1/deployments", upsert, methods=["POST"]),
    Route("/v1/deployments", list_, methods=["GET"]),
    Route("/v1/deployments/{id}", get, methods=["GET"]),
    Route("/v1/deployments/{id}", delete, methods=["DELETE"]),
    Route("/v1/deployments/{id}/runs", runs, methods=["GET"]),
    Route("/v1/deployments/{id}/history", history, methods=["GET"]),
]
