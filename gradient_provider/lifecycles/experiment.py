"""Experiment: a training run, backed by a Paperspace workflow and its runs. Pulumi id = workflow id.

Changing a run-affecting field (policy new-run) starts a new run on the same workflow and keeps the
history; `name` or `projectId` replace the experiment. Each run's spec carries the run key (a hash of the
run-affecting fields) in its default env, so a run can be recognised after a lost response or a failed up.

The v1 spec, as the workflow docs and the OpenAPI describe it: a `container@v1` job `train`; a workspace is a
`git-checkout@v1` job `clone` whose volume `repo` the training job takes as an input; datasets are workflow
inputs (`type: dataset`, `with.ref`) that the job refers to as `workflow.inputs.<name>`; a model is the
training job's output volume, registered by a `create-model@v1` job whose string output `model-id` names it.
v1 workflows carry no project and cannot change their spec (workflows-update takes a name only): the project
is kept in state and every run carries its own spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from ..client import GradientApiError, NotFoundError
from ..client.models import Workflow, WorkflowRun
from . import secret_env
from .base import Created, Lifecycle, Observed, OperationFailedError, log
from .policy import FieldRule, FieldTable, Policy, Risk, waiting_rules

RUN_KEY_ENV = "GRADIENT_STACKS_RUN_KEY"
HELPER_INSTANCE_TYPE = "C4"  # the git checkout and the model registration need no GPU
TRAIN_JOB, CLONE_JOB, MODEL_JOB = "train", "clone", "create-model"
MODEL_OUTPUT = "model-id"
DEFAULT_MODEL_PATH = "/outputs/model"
KIND = "EXPERIMENT"  # prefix of its project secrets' names
_STRING = {"type": "string", "minLength": 1}

TABLE = FieldTable(
    kind="Experiment",
    fields={
        "projectId": FieldRule(
            Policy.REPLACE,
            Risk.RETRAIN,
            _STRING,
            "Project that holds the experiment's workflow. Changing it replaces the experiment.",
            required=True,
        ),
        "name": FieldRule(
            Policy.REPLACE,
            Risk.RETRAIN,
            {"type": "string", "minLength": 1, "maxLength": 128},
            "Workflow name. Changing it replaces the experiment.",
            required=True,
        ),
        "image": FieldRule(Policy.NEW_RUN, Risk.RETRAIN, _STRING, "Container image to train in.", required=True),
        "command": FieldRule(
            Policy.NEW_RUN, Risk.RETRAIN, _STRING, "Shell command that trains (run with `sh -c`).", required=True
        ),
        "machineType": FieldRule(
            Policy.NEW_RUN, Risk.RETRAIN, _STRING, "Machine type to train on, e.g. A100-80G.", required=True
        ),
        "env": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "type": "object",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": "string"},
            },
            "Environment variables of the training job.",
        ),
        "workspace": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {
                    "url": {**_STRING, "description": "Git URL to clone."},
                    "ref": {**_STRING, "description": "Branch, tag or commit; the default branch when absent."},
                },
            },
            "Git repository (url, optional ref) checked out for the job at /inputs/repo.",
        ),
        "datasets": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "ref"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {
                            "type": "string",
                            "pattern": "^[A-Za-z][A-Za-z0-9_-]*$",
                            "description": "Mount name: the dataset appears at /inputs/<name>.",
                        },
                        "ref": {**_STRING, "description": "Dataset id, optionally with a version: `id:version`."},
                    },
                },
            },
            "Datasets mounted at /inputs/<name>; `ref` is a dataset id, optionally `id:version`.",
        ),
        "model": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {**_STRING, "description": "Name of the model to register."},
                    "path": {
                        "type": "string",
                        "pattern": "^/outputs/[A-Za-z][A-Za-z0-9_-]*$",
                        "x-expected": "an output directory /outputs/<name> (v1 registers a model from a job output)",
                        "description": "Where the job writes the model: an output directory, /outputs/<name>.",
                    },
                },
            },
            "Register the job's output directory (`path`, default /outputs/model) as a model named `name`, through "
            "a `create-model@v1` job.",
            normalize=lambda model: {**model, "path": model.get("path") or DEFAULT_MODEL_PATH},
        ),
        secret_env.FIELD: secret_env.field_rule(Policy.NEW_RUN, Risk.RETRAIN),
        "rerun": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {"type": ["string", "integer"]},
            "Any token; changing it starts a new run with nothing else changed.",
        ),
        **waiting_rules(
            ["completed", "started", "none"],
            "the run to finish, to start, or nothing",
            timeout_default=3600,
            timeout_max=604800,
        ),
    },
    outputs={
        "workflowId": "the Paperspace workflow id (also the resource id)",
        "runNumber": "number of the latest run",
        "phase": "phase of the latest run, as Paperspace spells it (Pending, Running, Succeeded, Failed, Error, "
        "Canceled, ...)",
        "startedAt": "when the latest run started",
        "finishedAt": "when the latest run finished",
        "modelId": "the newest model registered under `model.name`",
        "runs": "every run: number, specHash, phase",
        secret_env.REVISION_OUTPUT: "how many times the secret env values changed (each change starts a run)",
        secret_env.RETIRED_OUTPUT: "project secrets no longer referred to, deleted once no run can use them",
    },
)

_RUN_FIELDS = [name for name in TABLE.by_policy(Policy.NEW_RUN) if name != secret_env.FIELD]
_KEPT_FROM_STATE = [*TABLE.by_policy(Policy.LOCAL_ONLY), "rerun"]


def run_key(inputs: dict[str, Any], secrets_revision: int) -> str:
    """Identity of a run: a hash of every run-affecting field. Secret values are not in it: their names and
    the revision counter are, so it proves nothing about a value."""
    identity = {name: inputs.get(name) for name in _RUN_FIELDS}
    identity[secret_env.FIELD] = sorted(inputs.get(secret_env.FIELD) or {})
    identity[secret_env.REVISION_OUTPUT] = secrets_revision
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def model_output(path: str | None) -> str:
    """The training job's output that holds the model: /outputs/<name> is the output <name>."""
    return (path or DEFAULT_MODEL_PATH).removeprefix("/outputs/")


def build_spec(inputs: dict[str, Any], secrets_revision: int = 0) -> dict[str, Any]:
    train: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": inputs["image"], "args": ["sh", "-c", inputs["command"]]},
        "resources": {"instance-type": inputs["machineType"]},
    }
    env = dict(inputs.get("env") or {})
    env.update(secret_env.references(KIND, inputs["name"], inputs.get(secret_env.FIELD) or {}))
    if env:
        train["env"] = dict(sorted(env.items()))
    key = run_key(inputs, secrets_revision)
    spec: dict[str, Any] = {"defaults": {"env": {RUN_KEY_ENV: key}}, "jobs": {}}
    job_inputs: dict[str, Any] = {}
    if inputs.get("workspace"):
        checkout = {name: value for name, value in inputs["workspace"].items() if name in ("url", "ref")}
        spec["jobs"][CLONE_JOB] = {
            "uses": "git-checkout@v1",
            "with": checkout,
            "outputs": {"repo": {"type": "volume"}},
            "resources": {"instance-type": HELPER_INSTANCE_TYPE},
        }
        train["needs"] = [CLONE_JOB]
        job_inputs["repo"] = f"{CLONE_JOB}.outputs.repo"
    if inputs.get("datasets"):
        spec["inputs"] = {d["name"]: {"type": "dataset", "with": {"ref": d["ref"]}} for d in inputs["datasets"]}
        job_inputs.update({d["name"]: f"workflow.inputs.{d['name']}" for d in inputs["datasets"]})
    if job_inputs:
        train["inputs"] = job_inputs
    spec["jobs"][TRAIN_JOB] = train
    if inputs.get("model"):
        output = model_output(inputs["model"].get("path"))
        train["outputs"] = {output: {"type": "volume"}}
        spec["jobs"][MODEL_JOB] = {
            "uses": "create-model@v1",
            "needs": [TRAIN_JOB],
            "inputs": {"model": f"{TRAIN_JOB}.outputs.{output}"},
            "with": {"name": inputs["model"]["name"], "type": "Custom"},
            "outputs": {MODEL_OUTPUT: {"type": "string"}},
            "resources": {"instance-type": HELPER_INSTANCE_TYPE},
        }
    return spec


def spec_key(spec: dict[str, Any]) -> str | None:
    key = ((spec.get("defaults") or {}).get("env") or {}).get(RUN_KEY_ENV)
    return str(key) if key is not None else None


def inputs_from_spec(workflow: Workflow, spec: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The run-affecting inputs that a live spec reflects (the inverse of ``build_spec``); the project, which
    v1 workflows do not carry, and secret values, which cannot be read back, come from ``state``."""
    jobs = spec.get("jobs") or {}
    train = jobs.get(TRAIN_JOB) or {}
    args = (train.get("with") or {}).get("args") or []
    inputs: dict[str, Any] = {
        "projectId": state.get("projectId"),
        "name": workflow.name,
        "image": (train.get("with") or {}).get("image"),
        "command": args[2] if args[:2] == ["sh", "-c"] and len(args) == 3 else " ".join(map(str, args)),
        "machineType": (train.get("resources") or {}).get("instance-type"),
    }
    env = dict(train.get("env") or {})
    known_secrets = state.get(secret_env.FIELD) or {}
    refs = secret_env.references(KIND, workflow.name, known_secrets)
    secret_values = {var: known_secrets[var] for var, ref in refs.items() if env.get(var) == ref}
    for var in secret_values:
        env.pop(var)
    if env:
        inputs["env"] = env
    if secret_values:
        inputs[secret_env.FIELD] = secret_values
    if CLONE_JOB in jobs:
        inputs["workspace"] = dict(jobs[CLONE_JOB].get("with") or {})
    if spec.get("inputs"):
        inputs["datasets"] = [{"name": n, "ref": (d.get("with") or {}).get("ref")} for n, d in spec["inputs"].items()]
    register = jobs.get(MODEL_JOB) or {}
    if register.get("uses", "").startswith("create-model@"):
        source = str((register.get("inputs") or {}).get("model", ""))
        output = source.removeprefix(f"{TRAIN_JOB}.outputs.")
        inputs["model"] = {"name": (register.get("with") or {}).get("name"), "path": f"/outputs/{output}"}
    return inputs


def model_id_of(run: WorkflowRun) -> str | None:
    """The model a succeeded run registered: its create-model job's string output `model-id`."""
    job = run.jobs.get(MODEL_JOB)
    value = job.outputs.get(MODEL_OUTPUT) if job else None
    if isinstance(value, dict):  # the docs do not show how a string output is rendered in a status
        value = value.get("value") or value.get("id")
    return str(value) if value else None


class ExperimentLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        # Adopt a workflow of this name in the project: after a failed `up` (Pulumi records nothing for a failed
        # create) the next one finds it again, keeps its history and retries, instead of leaving it orphaned.
        adopted = [w for w in self.api.list_workflows(inputs["projectId"]) if w.name == inputs["name"]]
        if adopted:
            log.info("experiment %r: adopting the existing workflow %s of that name", inputs["name"], adopted[0].id)
        revision = secret_env.next_revision({}, inputs)
        synced = secret_env.sync(self.api, KIND, inputs["projectId"], {}, inputs)
        workflow: Workflow | None = adopted[0] if adopted else None
        try:
            if workflow is None:
                workflow = self.api.create_workflow(inputs["projectId"], inputs["name"], build_spec(inputs, revision))
            return Created(workflow.id, self._ensure_run(workflow, inputs, revision, []))
        except Exception:
            if not adopted:
                self._forget(workflow, inputs, synced)
            raise

    def _forget(self, workflow: Workflow | None, inputs: dict[str, Any], synced: secret_env.Sync) -> None:
        """After a failed create: when no run was started, nothing of it is worth keeping. A started run is kept
        (with its workflow and secrets): its history explains the failure, and the next `up` adopts it."""
        with contextlib.suppress(GradientApiError):
            if workflow is not None and self.api.list_runs(workflow.id):
                return
            if workflow is not None:
                self.api.delete_workflow(workflow.id)
            synced.undo(self.api)

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        revision = secret_env.next_revision(olds, news)
        retired = list(olds.get(secret_env.RETIRED_OUTPUT) or [])
        if not self.diff(olds, news).starts_run:
            return {**olds, **news, secret_env.REVISION_OUTPUT: revision, secret_env.RETIRED_OUTPUT: retired}
        synced = secret_env.sync(self.api, KIND, news["projectId"], olds, news)
        try:
            return self._ensure_run(self.api.get_workflow(ident), news, revision, retired + synced.retired)
        except Exception:
            synced.undo(self.api)  # Pulumi keeps the old state: so does Paperspace, as far as secrets go
            raise

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            workflow = self.api.get_workflow(ident)
            runs = self.api.list_runs(ident)
        except NotFoundError:
            return None
        live_spec = runs[-1].spec if runs else workflow.spec or {}
        kept = {key: state[key] for key in _KEPT_FROM_STATE if key in state}
        inputs = self.table.with_defaults({**inputs_from_spec(workflow, live_spec, state), **kept})
        revision = int(state.get(secret_env.REVISION_OUTPUT) or 0)
        retired = list(state.get(secret_env.RETIRED_OUTPUT) or [])
        return Observed(ident, self._outputs(workflow, runs, inputs, revision, retired), inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        try:
            for run in self.api.list_runs(ident):
                if run.active:
                    self.api.cancel_run(ident, run.number)
            self.api.delete_workflow(ident)
        except NotFoundError:
            pass
        secret_env.delete_all(self.api, KIND, state)

    def _ensure_run(
        self, workflow: Workflow, inputs: dict[str, Any], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        """Start a run for the inputs, unless the latest run already is one (still going or succeeded); wait.

        A new run supersedes older ones still going (they would train and register a stale model): they are
        canceled first. Retired secrets are deleted once no run that could use them is active.
        """
        spec = build_spec(inputs, revision)
        key = spec_key(spec)
        runs = self.api.list_runs(workflow.id)
        latest = runs[-1] if runs else None
        if latest is None or spec_key(latest.spec) != key or latest.failed:
            for run in runs:
                if run.active:
                    log.info("experiment %r: canceling run %d, superseded by a new one", workflow.name, run.number)
                    self.api.cancel_run(workflow.id, run.number)
            latest = self.api.start_run(workflow.id, spec, matches=lambda live: spec_key(live) == key)
            runs = [*runs, latest]
        runs[-1] = self._wait(workflow, latest, inputs)
        idle = not runs[-1].active and not any(run.active for run in runs[:-1])
        kept = secret_env.retire(self.api, inputs["projectId"], retired, now=idle)
        return self._outputs(workflow, runs, inputs, revision, kept)

    def _wait(self, workflow: Workflow, run: WorkflowRun, inputs: dict[str, Any]) -> WorkflowRun:
        what = f"experiment {workflow.name!r} ({workflow.id}) run {run.number}"
        wait: str = inputs["wait"]
        if wait == "none":
            return run

        def probe() -> tuple[bool, str, WorkflowRun]:
            current = self.api.get_run(workflow.id, run.number)
            if current.failed:
                raise OperationFailedError(f"{what} ended {current.phase}: {_failure(current)}")
            done = current.phase == "Succeeded" or (wait == "started" and current.phase == "Running")
            return done, current.phase, current

        return self.wait_for(what, probe, inputs["timeoutSeconds"])

    def _outputs(
        self, workflow: Workflow, runs: list[WorkflowRun], inputs: dict[str, Any], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        latest = runs[-1] if runs else None
        return {
            **inputs,
            "workflowId": workflow.id,
            "runNumber": latest.number if latest else None,
            "phase": latest.phase if latest else None,
            "startedAt": latest.started if latest else None,
            "finishedAt": latest.finished if latest else None,
            "modelId": self._model_id(runs, inputs),
            "runs": [{"number": r.number, "specHash": spec_key(r.spec), "phase": r.phase} for r in runs],
            secret_env.REVISION_OUTPUT: revision,
            secret_env.RETIRED_OUTPUT: retired,
        }

    def _model_id(self, runs: list[WorkflowRun], inputs: dict[str, Any]) -> str | None:
        """The model registered under ``model.name``: from the newest succeeded run that registered that name,
        else the newest model of that name in the project (e.g. after the run history was lost)."""
        if not inputs.get("model"):
            return None
        name = inputs["model"]["name"]
        for run in reversed(runs):
            registered = ((run.spec.get("jobs") or {}).get(MODEL_JOB) or {}).get("with") or {}
            if run.phase == "Succeeded" and registered.get("name") == name and (found := model_id_of(run)):
                return found
        named = [m for m in self.api.list_models(inputs["projectId"]) if m.name == name]
        return max(named, key=lambda m: m.dt_created).id if named else None


def _failure(run: WorkflowRun) -> str:
    """The run's message, and each job that did not succeed with its own message (unless the run's says it)."""
    parts = [run.message] if run.message else []
    for name, job in run.jobs.items():
        if job.phase in ("Failed", "Error") and not (job.message and run.message and job.message in run.message):
            parts.append(f"job {name!r} {job.phase}" + (f": {job.message}" if job.message else ""))
    return "; ".join(parts) or "no message"
