"""Workflows (training runs): definitions, runs, cancel; models registered by succeeded runs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import iso
from ..errors import ApiError, Issue, not_found
from ..pagination import page, parse_page_request
from ..store import Record
from ..validation import schema_issues
from ..workflow_lifecycle import TERMINAL_PHASES, model_outputs, plan, semantic_issues, status
from .common import Context, context, json_object, raise_if, reply, required_string, unknown_fields
from .projects import get_project


def _spec_issues(spec: Any, prefix: str = "spec") -> list[Issue]:
    issues = schema_issues("workflow-spec", spec, prefix=prefix)
    return issues or semantic_issues(spec, prefix)


def render_workflow(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "projectId": record.parent,
        "teamId": record.team,
        "spec": record.data.get("spec"),
        "dtCreated": iso(record.created),
        "dtModified": record.data.get("dtModified", iso(record.created)),
    }


def _run_status(ctx: Context, run: Record) -> dict[str, Any]:
    run_plan = plan(run.data["spec"], run.created, ctx.settings.time_scale)
    return status(run_plan, run.data.get("cancelledAt"), ctx.now)


def render_run(ctx: Context, run: Record) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflowId": run.parent,
        "seq": run.data["seq"],
        "spec": run.data["spec"],
        "status": _run_status(ctx, run),
        "dtCreated": iso(run.created),
    }


def settle_runs(ctx: Context) -> None:
    """Register the models of runs that have succeeded by now (once per run; restart-safe)."""
    for run in ctx.store.find("run", ctx.team):
        if run.data.get("settled"):
            continue
        run_status = _run_status(ctx, run)
        if run_status["phase"] not in TERMINAL_PHASES:
            continue
        with ctx.store.transaction():
            workflow = ctx.store.get("workflow", ctx.team, run.parent or "")
            if run_status["phase"] == "Succeeded" and workflow is not None:
                finished = plan(run.data["spec"], run.created, ctx.settings.time_scale).finished_at
                for job, key, output in model_outputs(run.data["spec"]):
                    model_id = ctx.store.new_id("mo", 12)
                    name = output.get("with", {}).get("name") or key
                    ctx.store.insert(
                        "model",
                        ctx.team,
                        model_id,
                        {
                            "description": f"output {key!r} of job {job!r}, run {run.data['seq']} of workflow "
                            f"{workflow.id}",
                            "isPublic": False,
                            "storageProviderId": None,
                        },
                        created=finished,
                        parent=workflow.parent,
                        name=name,
                    )
            run.data["settled"] = True
            ctx.store.save(run)


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    issues: list[Issue] = []
    name = required_string(body, "name", issues)
    project_id = required_string(body, "projectId", issues)
    unknown_fields(body, {"name", "projectId", "spec", "clusterId"}, issues)
    if body.get("spec") is not None:
        issues += _spec_issues(body["spec"])
    raise_if(issues, "workflow")
    project = get_project(ctx, project_id)
    data = {"spec": body.get("spec")}
    record = ctx.store.insert(
        "workflow", ctx.team, ctx.store.new_id("w", 12), data, created=ctx.now, parent=project.id, name=name
    )
    return reply(render_workflow(record))


async def list_(request: Request) -> JSONResponse:
    # v1 answers this one with a plain array, not a page (see docs/emulator.md).
    ctx = context(request)
    project_id = request.query_params.get("projectId")
    if project_id is not None:
        get_project(ctx, project_id)
    return reply([render_workflow(r) for r in ctx.store.find("workflow", ctx.team, parent=project_id)])


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render_workflow(ctx.get("workflow", request.path_params["id"], "workflow")))


async def update(request: Request) -> JSONResponse:
    ctx = context(request)
    record = ctx.get("workflow", request.path_params["id"], "workflow")
    body = await json_object(request)
    issues: list[Issue] = []
    unknown_fields(body, {"name", "spec"}, issues)
    if "name" in body:
        required_string(body, "name", issues)
    if body.get("spec") is not None:
        issues += _spec_issues(body["spec"])
    raise_if(issues, "workflow")
    if "name" in body:
        record.name = body["name"]
    if "spec" in body:
        record.data["spec"] = body["spec"]
    record.data["dtModified"] = iso(ctx.now)
    ctx.store.save(record)
    return reply(render_workflow(record))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    ident = request.path_params["id"]
    record = ctx.store.get("workflow", ctx.team, ident)
    if record is None:
        raise not_found("workflow", ident)
    settle_runs(ctx)
    with ctx.store.transaction():
        # Active runs end with their workflow (see docs/emulator.md).
        for run in ctx.store.find("run", ctx.team, parent=record.id):
            ctx.store.delete(run)
        ctx.store.delete(record)
    return reply(render_workflow(record))


async def create_run(request: Request) -> JSONResponse:
    ctx = context(request)
    workflow = ctx.get("workflow", request.path_params["id"], "workflow")
    body = await json_object(request)
    issues: list[Issue] = []
    unknown_fields(body, {"spec", "inputs"}, issues)
    spec = body.get("spec")
    issues += _spec_issues(spec) if spec is not None else [Issue("spec", "is required")]
    raise_if(issues, "workflow run")
    with ctx.store.transaction():
        previous = ctx.store.find("run", ctx.team, parent=workflow.id, descending=True, limit=1)
        seq = previous[0].data["seq"] + 1 if previous else 1
        run = ctx.store.insert(
            "run",
            ctx.team,
            f"{workflow.id}-{seq}",
            {"seq": seq, "spec": spec, "cancelledAt": None},
            created=ctx.now,
            parent=workflow.id,
        )
    return reply(render_run(ctx, run))


def _get_run(ctx: Context, request: Request) -> Record:
    workflow = ctx.get("workflow", request.path_params["id"], "workflow")
    seq = request.path_params["seq"]
    return ctx.get("run", f"{workflow.id}-{seq}", f"run {seq} of workflow")


async def list_runs(request: Request) -> JSONResponse:
    ctx = context(request)
    workflow = ctx.get("workflow", request.path_params["id"], "workflow")
    settle_runs(ctx)
    return reply(
        page(
            ctx.store,
            "run",
            ctx.team,
            parse_page_request(request.query_params),
            lambda r: render_run(ctx, r),
            parent=workflow.id,
        )
    )


async def get_run(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    return reply(render_run(ctx, _get_run(ctx, request)))


async def cancel_run(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    run = _get_run(ctx, request)
    phase = _run_status(ctx, run)["phase"]
    if phase in ("Succeeded", "Failed"):
        raise ApiError("CONFLICT", f"run {run.data['seq']} already finished ({phase}); there is nothing to cancel")
    if phase != "Cancelled":
        run.data["cancelledAt"] = ctx.now
        run.data["settled"] = True  # a cancelled run registers nothing
        ctx.store.save(run)
    return reply(render_run(ctx, run))


routes = [
    Route("/v1/workflows", create, methods=["POST"]),
    Route("/v1/workflows", list_, methods=["GET"]),
    Route("/v1/workflows/{id}", get, methods=["GET"]),
    Route("/v1/workflows/{id}", update, methods=["PUT"]),
    Route("/v1/workflows/{id}", delete, methods=["DELETE"]),
    Route("/v1/workflows/{id}/runs", create_run, methods=["POST"]),
    Route("/v1/workflows/{id}/runs", list_runs, methods=["GET"]),
    Route("/v1/workflows/{id}/runs/{seq:int}", get_run, methods=["GET"]),
    Route("/v1/workflows/{id}/runs/{seq:int}/cancel", cancel_run, methods=["POST"]),
]
