"""What workflow runs read and write: dataset versions they mount, dataset versions and models they create.

Everything a run will produce is decided when the run is created (the dataset version ids of its dataset
outputs, the model id of each ``create-model@v1`` job), so its status can name them as soon as a job
succeeds. The objects themselves are stored by :func:`settle_runs` once the job has succeeded by the clock
(with the job's end as their creation time), before any read that could show them: restart-safe and once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import downloads
from .clock import iso
from .errors import Issue
from .routes.common import Context, user_id
from .store import Record
from .workflow_lifecycle import SUCCEEDED, TERMINAL_PHASES, RunState, plan, state
from .workflow_spec import CREATE_MODEL, dataset_ref, parse_reference

DATASET, VERSION, MODEL, RUN, WORKFLOW = "dataset", "datasetVersion", "model", "run", "workflow"
VERSION_LENGTH = 7  # version ids look like "klfoyy9" (Gradient actions docs)


@dataclass(frozen=True)
class DatasetRef:
    dataset_id: str
    version: str | None

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.version}" if self.version else self.dataset_id


def find_dataset(ctx: Context, ident: str) -> Record | str:
    """A dataset of the team by id, else by name (the docs accept both); a message when there is none."""
    record = ctx.store.get(DATASET, ctx.team, ident)
    if record is not None:
        return record
    named = ctx.store.find(DATASET, ctx.team, name=ident)
    if len(named) == 1:
        return named[0]
    if named:
        return f"{len(named)} datasets are named {ident!r}; use the dataset id"
    return f"dataset {ident!r} not found"


def resolve(ctx: Context, ref: str, *, versioned: bool = True) -> DatasetRef | str:
    """``<dataset>`` or ``<dataset>:<version>`` -> the dataset and a committed version (the latest one when
    none is named, or none if the dataset has no committed version yet); a message when it cannot be."""
    ident, _, version = ref.partition(":")
    found = find_dataset(ctx, ident)
    if isinstance(found, str):
        return found
    if not versioned:
        return DatasetRef(found.id, None)
    if version:
        record = ctx.store.get(VERSION, ctx.team, f"{found.id}:{version}")
        if record is None:
            return f"dataset {found.id!r} has no version {version!r}"
        if not record.data["isCommitted"]:
            return f"version {version!r} of dataset {found.id!r} is not committed"
        return DatasetRef(found.id, version)
    committed = [
        v for v in ctx.store.find(VERSION, ctx.team, parent=found.id, descending=True) if v.data["isCommitted"]
    ]
    return DatasetRef(found.id, committed[0].name if committed else None)


def new_version_id(ctx: Context, dataset_id: str, taken: set[str] | None = None) -> str:
    while True:
        version = ctx.store.new_token(VERSION_LENGTH)
        if version not in (taken or set()) and ctx.store.get(VERSION, ctx.team, f"{dataset_id}:{version}") is None:
            return version


def insert_version(
    ctx: Context, dataset_id: str, version: str, created: float, *, committed: bool, message: str | None = None
) -> Record:
    data: dict[str, Any] = {
        "isCommitted": committed,
        "message": message,
        "metadata": None,
        "tags": [],
        "url": None,
        "usageBytes": None,
        "userId": user_id(ctx.team),
        "dtModified": iso(created),
    }
    return ctx.store.insert(
        VERSION, ctx.team, f"{dataset_id}:{version}", data, created=created, parent=dataset_id, name=version
    )


def prepare_run(ctx: Context, spec: dict[str, Any], run_inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """Resolve what a new run reads and allocate what it writes: ``(run data, issues)``.

    ``run_inputs`` (the request's ``inputs``) give values to inputs the spec declares. Every dataset a run
    names must be a dataset of the team, and a named version a committed one; otherwise the run is refused.
    """
    issues: list[Issue] = []
    declared: dict[str, Any] = spec.get("inputs", {})
    inputs = dict(declared)
    refused: set[str] = set()
    for name, value in run_inputs.items():
        if name not in declared:
            issues.append(Issue(f"inputs.{name}", "is not declared in the spec's inputs"))
        elif value["type"] != declared[name]["type"]:
            issues.append(Issue(f"inputs.{name}.type", f"must be {declared[name]['type']!r}, as the spec declares"))
            refused.add(name)
        else:
            inputs[name] = value
    resolved_inputs: dict[str, str] = {}
    for name, value in inputs.items():
        if value["type"] != "dataset" or name in refused:
            continue
        where = f"inputs.{name}" if name in run_inputs else f"spec.inputs.{name}"
        ref = dataset_ref(value.get("with"))
        if ref is None:
            if not value.get("optional"):
                issues.append(Issue(f"{where}.with.ref", "names no dataset: give with.ref in the spec or the run"))
            continue
        found = resolve(ctx, ref)
        if isinstance(found, str):
            issues.append(Issue(f"{where}.with.ref", found))
        else:
            resolved_inputs[name] = str(found)

    jobs: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for name, job in spec["jobs"].items():
        entry: dict[str, Any] = {"id": ctx.store.new_uuid(), "inputs": {}, "outputs": {}}
        for key, output in job.get("outputs", {}).items():
            ref = dataset_ref(output.get("with")) if output["type"] == "dataset" else None
            if ref is None:
                continue
            found = resolve(ctx, ref, versioned=False)
            if isinstance(found, str):
                issues.append(Issue(f"spec.jobs.{name}.outputs.{key}.with.ref", found))
                continue
            version = new_version_id(ctx, found.dataset_id, taken)
            taken.add(version)
            entry["outputs"][key] = {"datasetId": found.dataset_id, "version": version}
        if job["uses"] == CREATE_MODEL:
            entry["modelId"] = ctx.store.new_id("mo", 12)
        jobs[name] = entry
    for name, job in spec["jobs"].items():
        for key, value in job.get("inputs", {}).items():
            target = _input_dataset(ctx, spec, jobs, resolved_inputs, value, f"spec.jobs.{name}.inputs.{key}", issues)
            if target is not None:
                jobs[name]["inputs"][key] = target
    return {"inputs": inputs, "resolvedInputs": resolved_inputs, "jobs": jobs}, issues


def _input_dataset(
    ctx: Context,
    spec: dict[str, Any],
    jobs: dict[str, dict[str, Any]],
    resolved_inputs: dict[str, str],
    value: Any,
    where: str,
    issues: list[Issue],
) -> str | None:
    """The ``dataset:version`` a job input mounts, if it is a dataset."""
    if isinstance(value, dict):
        ref = dataset_ref(value["with"]) if value["type"] == "dataset" else None
        if ref is None:
            return None
        found = resolve(ctx, ref)
        if isinstance(found, str):
            issues.append(Issue(f"{where}.with.ref", found))
            return None
        return str(found)
    reference = parse_reference(value)
    if reference is None:
        return None
    if reference.job is None:
        return resolved_inputs.get(reference.name)
    target = jobs.get(reference.job, {}).get("outputs", {}).get(reference.name)
    return f"{target['datasetId']}:{target['version']}" if target else None


def run_state(ctx: Context, run: Record) -> RunState:
    """The run as of now. An `s3-download@v1` job's outcome is decided when it starts: the first read after
    its start looks for the objects it names (``downloads``) and keeps the answer with the run, so every later
    read, and a restart, sees the same end."""
    spec: dict[str, Any] = run.data["spec"]
    outcomes: dict[str, list[Any]] = dict(run.data.get("downloads") or {})
    current = state(plan(spec, run.created, ctx.settings.time_scale, outcomes), run.data.get("canceledAt"), ctx.now)
    due = [
        name
        for name, job in current.jobs.items()
        if spec["jobs"][name]["uses"] == downloads.S3_DOWNLOAD and job.started is not None and name not in outcomes
    ]
    if not due:
        return current
    for name in due:
        outcomes[name] = list(downloads.check(spec["jobs"][name].get("with", {})))
    run.data["downloads"] = outcomes
    ctx.store.save(run)
    return state(plan(spec, run.created, ctx.settings.time_scale, outcomes), run.data.get("canceledAt"), ctx.now)


def settle_runs(ctx: Context) -> None:
    """Store what each job that has succeeded by now produced: dataset versions and models (once each)."""
    for run in ctx.store.find(RUN, ctx.team):
        if run.data.get("settled"):
            continue
        current = run_state(ctx, run)
        done = set(run.data.get("settledJobs", []))
        fresh = [name for name, job in current.jobs.items() if job.phase == SUCCEEDED and name not in done]
        terminal = current.phase in TERMINAL_PHASES
        if not fresh and not terminal:
            continue
        with ctx.store.transaction():
            for name in fresh:
                finished = current.jobs[name].finished
                assert finished is not None
                _publish(ctx, run, name, finished)
            run.data["settledJobs"] = sorted(done | set(fresh))
            run.data["settled"] = terminal
            ctx.store.save(run)


def _publish(ctx: Context, run: Record, job_name: str, finished: float) -> None:
    entry: dict[str, Any] = run.data["jobs"][job_name]
    origin = f"job {job_name!r} of run {run.name} of workflow {run.parent}"
    for key, target in entry["outputs"].items():
        exists = ctx.store.get(VERSION, ctx.team, f"{target['datasetId']}:{target['version']}") is not None
        if ctx.store.get(DATASET, ctx.team, target["datasetId"]) is not None and not exists:
            message = f"output {key!r} of {origin}"
            insert_version(ctx, target["datasetId"], target["version"], finished, committed=True, message=message)
    model_id = entry.get("modelId")
    if model_id is not None and ctx.store.get(MODEL, ctx.team, model_id) is None:
        with_: dict[str, Any] = run.data["spec"]["jobs"][job_name].get("with", {})
        data = {
            "description": f"{with_.get('type', 'Custom')} model created by {origin}",
            "isPublic": False,
            "storageProviderId": None,
        }
        ctx.store.insert(
            MODEL, ctx.team, model_id, data, created=finished, parent=run.data["projectId"], name=with_["name"]
        )


def runs_using_dataset(ctx: Context, dataset_id: str) -> list[str]:
    """Active runs that mount or write the dataset, as ``workflow <id> run <n>``."""
    using = []
    for run in ctx.store.find(RUN, ctx.team):
        if run.data.get("settled") or run_state(ctx, run).phase in TERMINAL_PHASES:
            continue
        refs = list(run.data["resolvedInputs"].values())
        for entry in run.data["jobs"].values():
            refs += list(entry["inputs"].values())
            refs += [target["datasetId"] for target in entry["outputs"].values()]
        if any(ref.partition(":")[0] == dataset_id for ref in refs):
            using.append(f"workflow {run.parent} run {run.name}")
    return using
