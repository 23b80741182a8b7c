"""Deployments: the upsert ``POST /deployments``, lists, reads, runs, history and delete."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..artifacts import settle_runs
from ..clock import iso
from ..deployment_lifecycle import env_hooks, latest_spec_view, runs_view, timeline
from ..errors import ApiError, Issue, bad_request, not_found
from ..hooks import MAX_HOOK_SECONDS, seconds
from ..pagination import page, parse_limit, parse_page_request
from ..store import Record
from ..validation import schema_issues
from .common import Context, context, json_object, raise_if, reply, user_id
from .projects import get_project

# The cluster label of every endpoint (real ones look like d<hex>.clg07azjl.paperspacegradient.com).
ENDPOINT_CLUSTER = "clemulatr"
ENDPOINT_DOMAIN = "paperspacegradient.invalid"  # the observed shape, under a reserved domain
MAX_READY_SECONDS = MAX_HOOK_SECONDS
# The config schema to check, by apiVersion (deployments-upsert: DeploymentSpecV0alpha0/V0alpha1/V1).
_SCHEMA_OF_VERSION = {"v0alpha0": "v0alpha0", "v0alpha1": "v0alpha1", "v1": "v1", "latest": "v1"}
_GIT_HEADERS = ("x-git-actor", "x-git-host", "x-git-owner", "x-git-ref", "x-git-repo", "x-git-sha")


def _specs(ctx: Context, deployment: Record, latest: int | None = None) -> list[Record]:
    """The deployment's spec versions, newest first; only the ``latest`` few when given, which costs the same
    however long the history is (an index walk from the newest)."""
    return ctx.store.find("spec", ctx.team, parent=deployment.id, descending=True, limit=latest)


def _timeline(ctx: Context, spec: Record) -> Any:
    return timeline(spec.id, spec.data["data"], spec.created, ctx.settings.time_scale)


def spec_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def endpoint(deployment: Record) -> str:
    """A host name without a scheme, as v1 gives it (pspace prints https://<endpoint>)."""
    return f"{deployment.id}.{ENDPOINT_CLUSTER}.{ENDPOINT_DOMAIN}"


def render(ctx: Context, deployment: Record) -> dict[str, Any]:
    specs = _specs(ctx, deployment, latest=1)
    latest = specs[0] if specs else None
    body: dict[str, Any] = {
        "id": deployment.id,
        "name": deployment.name,
        "projectId": deployment.parent,
        "teamId": deployment.team,
        "endpoint": endpoint(deployment),
        "dtCreated": iso(deployment.created),
        "latestSpecHash": spec_hash(latest.data["data"]) if latest else None,
        "latestSpec": latest_spec_view(_timeline(ctx, latest), latest.data, ctx.now) if latest else None,
    }
    if latest is not None and isinstance(latest.data["data"].get("basicAuthKey"), str):
        body["basicAuthKey"] = latest.data["data"]["basicAuthKey"]
    return body


def _hook_issues(config: dict[str, Any]) -> list[Issue]:
    hooks = env_hooks(config)
    issues = []
    if "EMULATOR_READY_SECONDS" in hooks and seconds(hooks["EMULATOR_READY_SECONDS"]) is None:
        message = f"must be seconds from 0 to {MAX_READY_SECONDS} (a plain decimal number)"
        issues.append(Issue("config.env.EMULATOR_READY_SECONDS", message))
    if hooks.get("EMULATOR_CRASH", "1") not in ("0", "1"):
        issues.append(Issue("config.env.EMULATOR_CRASH", "must be '0' or '1'"))
    return issues


def _config_issues(ctx: Context, config: dict[str, Any]) -> list[Issue]:
    api_version = config.get("apiVersion")
    definition = _SCHEMA_OF_VERSION.get(api_version) if isinstance(api_version, str) else None
    known = definition is not None
    definition = definition or "v1"
    issues = schema_issues("deployment-config", config, prefix="config", definition=definition)
    if not known and "apiVersion" in config:
        issues = [i for i in issues if i.path != "config.apiVersion"]
        issues.append(Issue("config.apiVersion", "must be one of 'v0alpha0', 'v0alpha1', 'v1', 'latest'"))
    if issues:
        return issues
    names = [item["name"] for item in config.get("env", [])]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        issues.append(Issue("config.env", f"variable {duplicate!r} is set more than once"))
    integrations = enumerate(config.get("integrations", []))
    models = [(f"config.integrations[{i}].id", x["id"]) for i, x in integrations if x["type"] == "model"]
    models += [(f"config.models[{i}].id", x["id"]) for i, x in enumerate(config.get("models", []))]  # v0alpha0
    for path, model_id in models:
        if ctx.store.get("model", ctx.team, model_id) is None:
            issues.append(Issue(path, f"model {model_id!r} not found"))
    return issues + _hook_issues(config)


def _git_metadata(request: Request) -> dict[str, Any] | None:
    """latestSpec.metadata: the x-git-* headers of the upsert (as Paperspace/deploy-action sends them)."""
    headers = {name: request.headers.get(name) for name in _GIT_HEADERS}
    if any(value is None for value in headers.values()) or headers["x-git-host"] not in ("github", "gitlab"):
        return None
    return {"gitHeaders": headers}


async def upsert(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    settle_runs(ctx)  # a model a run has registered by now can be mounted
    issues = schema_issues("requests", body, definition="deploymentUpsert")
    config = body.get("config")
    if isinstance(config, dict):
        issues += _config_issues(ctx, config)
    raise_if(issues, "deployment")
    assert isinstance(config, dict)  # validated above
    project = get_project(ctx, body["projectId"])
    deployment_id = body.get("deploymentId")
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
        specs = _specs(ctx, deployment, latest=1)
        # An identical config is no new version: upserts are idempotent, so a retried request is harmless.
        if not specs or specs[0].data["data"] != config:
            spec_id = ctx.store.new_id("s", 12)
            data = {
                "id": spec_id,
                "deploymentId": deployment.id,
                "userId": user_id(ctx.team),
                "data": config,
                "metadata": _git_metadata(request),
            }
            ctx.store.insert("spec", ctx.team, spec_id, data, created=ctx.now, parent=deployment.id)
    return reply({"deploymentId": deployment.id})


async def list_(request: Request) -> JSONResponse:
    # deployments-list documents only after, limit, orderBy and order: other parameters are ignored.
    ctx = context(request)
    return reply(
        page(ctx.store, "deployment", ctx.team, parse_page_request(request.query_params), lambda r: render(ctx, r))
    )


async def list_of_project(request: Request) -> JSONResponse:
    # projectDeployments-list: the same page, for one project, optionally one name.
    ctx = context(request)
    project = get_project(ctx, request.path_params["id"])
    query = request.query_params
    body = page(
        ctx.store,
        "deployment",
        ctx.team,
        parse_page_request(query),
        lambda r: render(ctx, r),
        parent=project.id,
        name=query.get("name"),
    )
    return reply(body)


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render(ctx, ctx.get("deployment", request.path_params["id"], "deployment")))


async def runs(request: Request) -> JSONResponse:
    ctx = context(request)
    deployment = ctx.get("deployment", request.path_params["id"], "deployment")
    limit = parse_limit(request.query_params)
    # Runs come from the latest spec and the one before it (runs_view): older versions are not read.
    found = runs_view([_timeline(ctx, spec) for spec in _specs(ctx, deployment, latest=2)], ctx.now)
    return reply(found[:limit] if limit is not None else found)


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
    Route("/v1/projects/{id}/deployments", list_of_project, methods=["GET"]),
]
