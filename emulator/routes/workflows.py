"""Workflows and their runs: definitions, runs numbered per workflow, cancel, and run logs."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..artifacts import RUN, WORKFLOW, prepare_run, run_state, settle_runs
from ..clock import iso
from ..errors import ApiError, Issue, not_found
from ..pagination import page, page_by_key, parse_page_request
from ..store import Record
from ..validation import schema_issues
from ..workflow_lifecycle import CANCELED, SUCCEEDED, TERMINAL_PHASES, JobState, log_lines
from ..workflow_spec import spec_issues
from .common import Context, context, json_object, raise_if, reply
from .projects import get_project

# A run number as a path writes it: ASCII digits, at most 15 of them (isdigit() also takes "²", int() does not).
_RUN_NUMBER = re.compile(r"[0-9]{1,15}")


def render_workflow(record: Record) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "dtCreated": iso(record.created),
        "dtModified": record.data.get("dtModified", iso(record.created)),
    }
    if record.data.get("spec") is not None:
        body["spec"] = record.data["spec"]
    return body


def render_run(ctx: Context, run: Record) -> dict[str, Any]:
    current = run_state(ctx, run)
    status: dict[str, Any] = {"phase": current.phase, "logId": run.data["logId"]}
    _times(status, current.started, current.finished, current.message)
    if run.data["inputs"]:
        status["inputs"] = {name: _render_input(run, name, value) for name, value in run.data["inputs"].items()}
    status["jobs"] = {name: _render_job(run, name, job) for name, job in current.jobs.items()}
    body: dict[str, Any] = {"id": int(run.name or 0), "uuid": run.id}
    if run.data.get("clusterId"):
        body["cluster"] = {"id": run.data["clusterId"]}
    if run.data.get("meta") is not None:
        body["meta"] = run.data["meta"]
    body["spec"] = run.data["spec"]
    body["status"] = status
    return body


def _render_input(run: Record, name: str, value: dict[str, Any]) -> dict[str, Any]:
    """A workflow input as the run used it: its ``with``, and the dataset version it resolved to."""
    body: dict[str, Any] = {"with": value.get("with", {})}
    if name in run.data["resolvedInputs"]:
        body["dataset"] = {"id": run.data["resolvedInputs"][name]}
    return body


def _render_job(run: Record, name: str, job: JobState) -> dict[str, Any]:
    entry: dict[str, Any] = run.data["jobs"][name]
    body: dict[str, Any] = {"phase": job.phase, "logId": entry["id"]}
    _times(body, job.started, job.finished, job.message)
    if job.started is not None and entry["inputs"]:
        body["inputs"] = {key: {"dataset": {"id": ref}} for key, ref in entry["inputs"].items()}
    if job.phase == SUCCEEDED:
        outputs: dict[str, Any] = {
            key: {"dataset": {"id": f"{target['datasetId']}:{target['version']}", "isCommitted": True}}
            for key, target in entry["outputs"].items()
        }
        if "modelId" in entry:
            outputs["model-id"] = entry["modelId"]
        if outputs:
            body["outputs"] = outputs
    return body


def _times(body: dict[str, Any], started: float | None, finished: float | None, message: str | None) -> None:
    # Optional fields that are not nullable in v1: left out until known, never null.
    if message is not None:
        body["message"] = message
    if started is not None:
        body["started"] = iso(started)
    if finished is not None:
        body["finished"] = iso(finished)


def _inputs_issues(inputs: Any) -> list[Issue]:
    if not isinstance(inputs, dict):
        return []  # the request schema reports it
    issues: list[Issue] = []
    for name, value in inputs.items():
        issues += schema_issues("workflow-spec", value, prefix=f"inputs.{name}", definition="workflowInput")
    return issues


def _start_run(ctx: Context, workflow: Record, body: dict[str, Any]) -> Record:
    """Validate the run's spec and inputs against the store, then number and store the run."""
    spec: dict[str, Any] = body["spec"]
    data, issues = prepare_run(ctx, spec, body.get("inputs") or {})
    raise_if(issues, "workflow run")
    cluster_id = body.get("clusterId") or spec.get("defaults", {}).get("clusterId")
    previous = ctx.store.find(RUN, ctx.team, parent=workflow.id, descending=True, limit=1)
    seq = int(previous[0].name or 0) + 1 if previous else 1
    data |= {
        "spec": spec,
        "logId": ctx.store.new_uuid(),
        "projectId": workflow.parent,
        "clusterId": cluster_id,
        "meta": body.get("meta"),
        "canceledAt": None,
    }
    run = ctx.store.insert(
        RUN, ctx.team, ctx.store.new_uuid(), data, created=ctx.now, parent=workflow.id, name=str(seq)
    )
    if body.get("markDefault"):
        workflow.data["spec"] = spec
        workflow.data["dtModified"] = iso(ctx.now)
        ctx.store.save(workflow)
    return run


async def create(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await json_object(request)
    issues = schema_issues("requests", body, definition="workflowCreate")
    if isinstance(body.get("spec"), dict):
        issues += spec_issues(body["spec"])
    issues += _inputs_issues(body.get("inputs"))
    if body.get("run") and body.get("spec") is None:
        issues.append(Issue("run", "a run needs a spec"))
    raise_if(issues, "workflow")
    project = get_project(ctx, body["projectId"])
    with ctx.store.transaction():
        data = {"spec": body.get("spec")}
        workflow = ctx.store.insert(
            WORKFLOW, ctx.team, ctx.store.new_uuid(), data, created=ctx.now, parent=project.id, name=body["name"]
        )
        run = _start_run(ctx, workflow, body) if body.get("run") else None
    rendered = render_workflow(workflow)
    if run is not None:
        rendered["run"] = render_run(ctx, run)
    return reply(rendered)


async def list_(request: Request) -> JSONResponse:
    # v1 answers this one with a plain array, not a page; projectId is its only parameter.
    ctx = context(request)
    project_id = request.query_params.get("projectId")
    if project_id is not None:
        get_project(ctx, project_id)
    return reply([render_workflow(r) for r in ctx.store.find(WORKFLOW, ctx.team, parent=project_id)])


async def get(request: Request) -> JSONResponse:
    ctx = context(request)
    return reply(render_workflow(ctx.get(WORKFLOW, request.path_params["id"], "workflow")))


async def update(request: Request) -> JSONResponse:
    ctx = context(request)
    record = ctx.get(WORKFLOW, request.path_params["id"], "workflow")
    body = await json_object(request)
    issues: list[Issue] = []
    if "spec" in body:
        issues.append(
            Issue("spec", "a workflow's spec cannot be updated; create a run with markDefault: true to change it")
        )
    issues += schema_issues("requests", {k: v for k, v in body.items() if k != "spec"}, definition="workflowUpdate")
    raise_if(issues, "workflow")
    record.name = body["name"]
    record.data["dtModified"] = iso(ctx.now)
    ctx.store.save(record)
    return reply(render_workflow(record))


async def delete(request: Request) -> JSONResponse:
    ctx = context(request)
    ident = request.path_params["id"]
    record = ctx.store.get(WORKFLOW, ctx.team, ident)
    if record is None:
        raise not_found("workflow", ident)
    settle_runs(ctx)  # what finished jobs produced stays; active runs end with their workflow
    with ctx.store.transaction():
        for run in ctx.store.find(RUN, ctx.team, parent=record.id):
            ctx.store.delete(run)
        ctx.store.delete(record)
    return reply({"id": record.id})


async def create_run(request: Request) -> JSONResponse:
    ctx = context(request)
    workflow = ctx.get(WORKFLOW, request.path_params["id"], "workflow")
    body = await json_object(request)
    issues = schema_issues("requests", body, definition="workflowRunCreate")
    if isinstance(body.get("spec"), dict):
        issues += spec_issues(body["spec"])
    issues += _inputs_issues(body.get("inputs"))
    raise_if(issues, "workflow run")
    with ctx.store.transaction():
        run = _start_run(ctx, workflow, body)
    return reply(render_run(ctx, run))


def _get_run(ctx: Context, request: Request, key: str = "seq") -> Record:
    """A run by its number (``id``); for logs also by its ``uuid``. Anything else is a 404, however odd."""
    workflow = ctx.get(WORKFLOW, request.path_params["id"], "workflow")
    wanted: str = request.path_params[key]
    if _RUN_NUMBER.fullmatch(wanted):
        runs = ctx.store.find(RUN, ctx.team, parent=workflow.id, name=str(int(wanted)))
        if runs:
            return runs[0]
    run = ctx.store.get(RUN, ctx.team, wanted) if key == "runId" else None
    if run is None or run.parent != workflow.id:
        raise not_found(f"run of workflow {workflow.id!r}", wanted)
    return run


async def list_runs(request: Request) -> JSONResponse:
    ctx = context(request)
    workflow = ctx.get(WORKFLOW, request.path_params["id"], "workflow")
    settle_runs(ctx)
    query = parse_page_request(request.query_params, order_by=("dtCreated", "dtModified"))
    if query.order_by == "dtCreated":
        body = page(ctx.store, RUN, ctx.team, query, lambda r: render_run(ctx, r), parent=workflow.id)
    else:
        runs = ctx.store.find(RUN, ctx.team, parent=workflow.id)
        body = page_by_key(runs, lambda r: run_state(ctx, r).modified, query, lambda r: render_run(ctx, r))
    return reply(body)


async def get_run(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    return reply(render_run(ctx, _get_run(ctx, request)))


async def cancel_run(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    run = _get_run(ctx, request)
    phase = run_state(ctx, run).phase
    if phase in TERMINAL_PHASES - {CANCELED}:
        raise ApiError("CONFLICT", f"run {run.name} already finished ({phase}); there is nothing to cancel")
    if phase != CANCELED:
        run.data["canceledAt"] = ctx.now
        ctx.store.save(run)
    return reply(render_run(ctx, run))


async def logs(request: Request) -> JSONResponse:
    ctx = context(request)
    settle_runs(ctx)
    run = _get_run(ctx, request, key="runId")
    current = run_state(ctx, run)
    jobs = []
    for name, job in current.jobs.items():
        job_id = run.data["jobs"][name]["id"]
        entry: dict[str, Any] = {
            "id": job_id,
            "name": name,
            "phase": job.phase,
            "dtCreated": iso(run.created),
            "workflowRunId": run.id,
        }
        if job.message is not None:
            entry["message"] = job.message
        if job.started is not None:
            entry["dtStarted"] = iso(job.started)
        if job.finished is not None:
            entry["dtFinished"] = iso(job.finished)
        entry["logs"] = [
            {"id": f"{job_id}-{index}", "jobId": job_id, "message": message, "dtCreated": iso(at)}
            for index, (at, message) in enumerate(log_lines(run.data["spec"], name, job), start=1)
        ]
        jobs.append(entry)
    return reply(jobs)


routes = [
    Route("/v1/workflows", create, methods=["POST"]),
    Route("/v1/workflows", list_, methods=["GET"]),
    Route("/v1/workflows/{id}", get, methods=["GET"]),
    Route("/v1/workflows/{id}", update, methods=["PUT"]),
    Route("/v1/workflows/{id}", delete, methods=["DELETE"]),
    Route("/v1/workflows/{id}/runs", create_run, methods=["POST"]),
    Route("/v1/workflows/{id}/runs", list_runs, methods=["GET"]),
    # {seq} is any segment, not Starlette's {seq:int}: its converter raised on a 5,000-digit number (a 500).
    Route("/v1/workflows/{id}/runs/{seq}", get_run, methods=["GET"]),
    Route("/v1/workflows/{id}/runs/{seq}/cancel", cancel_run, methods=["POST"]),
    Route("/v1/workflows/{id}/runs/{runId}/logs", logs, methods=["GET"]),
]
