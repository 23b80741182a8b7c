"""`import` of experiments: each workflow of a project asked for, through the kind's wire mapping
(``inputs_from_spec`` of the latest run's spec), so the first `up` finds it equal to its entry and starts no run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...client.models import Workflow
from ...lifecycles import secret_env
from ...lifecycles.base import OperationFailedError
from ...lifecycles.policy import ADOPT
from ..importing import ImportContext, ImportReader, add_checked, env_entries, plain, unrepresented
from ..kind import ImportMapping
from .jobs import dataset_keys
from .lifecycle import ExperimentLifecycle
from .table import RUN_KEY_ENV, SECRET_PREFIX
from .wire import build_spec, inputs_from_spec


@dataclass(frozen=True)
class WorkflowSnapshot:
    workflow: Workflow
    spec: dict[str, Any]  # the latest run's spec; the workflow's own when it never ran; {} when it has neither
    runs: int
    latest_phase: str | None
    project_id: str


def _read(reader: ImportReader) -> list[Any]:
    found: list[WorkflowSnapshot] = []
    for scope in reader.projects:
        for workflow in reader.api.list_workflows(scope.project.id):
            runs = reader.api.list_runs(workflow.id)
            spec = runs[-1].spec if runs else workflow.spec or {}
            phase = runs[-1].phase if runs else None
            found.append(WorkflowSnapshot(workflow, spec, len(runs), phase, scope.project.id))
    return found


def dataset_refs(spec: dict[str, Any]) -> list[str]:
    """Every dataset a workflow spec names, as written (`<id or name>[:<version>]`): workflow inputs of type
    dataset (a single-job experiment's `datasets`) and dataset inputs and outputs of its jobs."""
    refs = [
        str((value.get("with") or {}).get("ref", ""))
        for value in (spec.get("inputs") or {}).values()
        if isinstance(value, dict) and value.get("type") == "dataset"
    ]
    for job in (spec.get("jobs") or {}).values():
        if not isinstance(job, dict):
            continue
        for value in [*(job.get("inputs") or {}).values(), *(job.get("outputs") or {}).values()]:
            if isinstance(value, dict) and value.get("type") == "dataset":
                refs.append(str((value.get("with") or {}).get("ref", "")))
    return [ref for ref in refs if ref]


def _entry(found: WorkflowSnapshot, ctx: ImportContext) -> None:
    imported, keys = ctx.imported, ctx.keys["experiments"]
    workflow = found.workflow
    what = f"workflow {workflow.name!r} ({workflow.id})"
    if not found.spec.get("jobs"):
        imported.leave_out("experiments", what, ["it has no run and no spec to read its jobs from"])
        return
    project_key, scope = ctx.project(found.project_id)
    ids_by_key = {key: ident for ident, key in ctx.ids["datasets"].items()}
    inputs = inputs_from_spec(workflow.name, found.spec, {"projectId": found.project_id, "datasetIds": ids_by_key})
    key = keys(workflow.name, "experiment")
    notes: list[str] = []
    env, secrets = env_entries(
        inputs.pop("env", {}), SECRET_PREFIX, workflow.name, key, scope.secret_names, imported, notes
    )
    named = [target for _, target in dataset_keys(inputs.get("jobs"))] if inputs.get("jobs") else []
    missing = sorted({target for target in named if target not in ids_by_key})
    if missing:
        imported.leave_out("experiments", what, [f"its jobs write to datasets it names by id: {', '.join(missing)}"])
        keys.taken.discard(key)
        return
    checked, problems = ExperimentLifecycle.check({**inputs, "env": plain(env), secret_env.FIELD: secrets})
    if problems:
        imported.leave_out("experiments", what, [f"{p.field}: {p.reason}" for p in problems])
        keys.taken.discard(key)
        return
    try:
        rebuilt = build_spec(checked)
    except OperationFailedError as error:
        imported.leave_out("experiments", what, [str(error)])
        keys.taken.discard(key)
        return
    notes += unrepresented("spec", _without_run_key(found.spec), _without_run_key(rebuilt))
    if found.latest_phase in ("Failed", "Error", "Canceled"):
        notes.append(
            f"its latest run ({found.runs}) ended {found.latest_phase}; adopting starts no run unless the run "
            "fields differ (set `rerun` to start one)"
        )
    if inputs.get("workspaceHash") and not inputs.get("workspace"):
        # a local workspace: its directory is on someone's machine, not in Paperspace
        imported.leave_out(
            "experiments",
            what,
            ["its workspace is a local directory (uploaded archive); declare it by hand with `workspace: {path: ...}`"],
        )
        keys.taken.discard(key)
        return
    fields: dict[str, Any] = {"project": project_key, ADOPT: workflow.id}
    # provider-only inputs (the dataset ids, a workspace hash) are the program's to set, never the file's
    provider_only = {name for name, rule in ExperimentLifecycle.table.fields.items() if rule.provider_only}
    fields.update({k: v for k, v in inputs.items() if k not in provider_only})
    if env:
        fields["env"] = env
    add_checked(imported, "experiments", what, ExperimentLifecycle, fields, key, notes, skip_check=True)


def _without_run_key(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec without the run key the provider stamps on each run (it identifies a run; it means nothing)."""
    defaults = dict(spec.get("defaults") or {})
    env = {k: v for k, v in (defaults.get("env") or {}).items() if k != RUN_KEY_ENV}
    if env:
        defaults["env"] = env
    else:
        defaults.pop("env", None)
    stripped = {k: v for k, v in spec.items() if k != "defaults"}
    return {**stripped, "defaults": defaults} if defaults else stripped


IMPORT = ImportMapping(read=_read, entry=_entry)
