"""Experiment: a training run, backed by a Paperspace workflow and its runs. Pulumi id = workflow id.

Changing a run-affecting field (policy new-run) starts a new run on the same workflow and keeps the
history; `name` or `projectId` replace the experiment. Each run's spec carries the run key (a hash of the
run-affecting fields) in its default env, so a run can be recognised after a lost response or a failed up.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..client import NotFoundError
from ..client.models import Workflow, WorkflowRun
from .base import Created, Lifecycle, Observed, OperationFailedError, log
from .policy import FieldRule, FieldTable, Policy, Risk, waiting_rules

RUN_KEY_ENV = "GRADIENT_STACKS_RUN_KEY"
CLONE_INSTANCE_TYPE = "C4"  # the git checkout needs no GPU
_STRING = {"type": "string", "minLength": 1}
_FINAL_FAILURES = ("Failed", "Cancelled")

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
                    "path": {"type": "string", "pattern": "^/", "description": "Where the job writes the model."},
                },
            },
            "Register the job's output (at `path`, default /outputs/model) as a model named `name`.",
        ),
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
        "phase": "phase of the latest run: Pending, Running, Succeeded, Failed or Cancelled",
        "startedAt": "when the latest run started",
        "finishedAt": "when the latest run finished",
        "modelId": "the newest model registered under `model.name`",
        "runs": "every run: number, specHash, phase",
    },
)

_RUN_FIELDS = TABLE.by_policy(Policy.NEW_RUN)
_KEPT_FROM_STATE = [*TABLE.by_policy(Policy.LOCAL_ONLY), "rerun"]


def run_key(inputs: dict[str, Any]) -> str:
    """Identity of a run: a hash of every run-affecting field."""
    identity = {name: inputs.get(name) for name in _RUN_FIELDS}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def build_spec(inputs: dict[str, Any]) -> dict[str, Any]:
    train: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": inputs["image"], "args": ["sh", "-c", inputs["command"]]},
        "resources": {"instance-type": inputs["machineType"]},
    }
    if inputs.get("env"):
        train["env"] = dict(sorted(inputs["env"].items()))
    spec: dict[str, Any] = {"defaults": {"env": {RUN_KEY_ENV: run_key(inputs)}}, "jobs": {}}
    job_inputs: dict[str, Any] = {}
    if inputs.get("workspace"):
        checkout = {key: value for key, value in inputs["workspace"].items() if key in ("url", "ref")}
        spec["jobs"]["clone"] = {
            "uses": "git-checkout@v1",
            "with": checkout,
            "outputs": {"repo": {"type": "volume"}},
            "resources": {"instance-type": CLONE_INSTANCE_TYPE},
        }
        train["needs"] = ["clone"]
        job_inputs["repo"] = "clone.outputs.repo"
    if inputs.get("datasets"):
        spec["inputs"] = {d["name"]: {"type": "dataset", "with": {"ref": d["ref"]}} for d in inputs["datasets"]}
        job_inputs.update({d["name"]: f"inputs.{d['name']}" for d in inputs["datasets"]})
    if job_inputs:
        train["inputs"] = job_inputs
    if inputs.get("model"):
        model = inputs["model"]
        train["outputs"] = {
            "model": {"type": "model", "with": {"name": model["name"], "path": model.get("path", "/outputs/model")}}
        }
    spec["jobs"]["train"] = train
    return spec


def spec_key(spec: dict[str, Any]) -> str | None:
    key = ((spec.get("defaults") or {}).get("env") or {}).get(RUN_KEY_ENV)
    return str(key) if key is not None else None


def inputs_from_spec(workflow: Workflow, spec: dict[str, Any]) -> dict[str, Any]:
    """The run-affecting inputs that a live spec reflects (the inverse of ``build_spec``)."""
    jobs = spec.get("jobs") or {}
    train = jobs.get("train") or {}
    args = (train.get("with") or {}).get("args") or []
    inputs: dict[str, Any] = {
        "projectId": workflow.project_id,
        "name": workflow.name,
        "image": (train.get("with") or {}).get("image"),
        "command": args[2] if args[:2] == ["sh", "-c"] and len(args) == 3 else " ".join(args),
        "machineType": (train.get("resources") or {}).get("instance-type"),
    }
    if train.get("env"):
        inputs["env"] = dict(train["env"])
    if "clone" in jobs:
        inputs["workspace"] = dict(jobs["clone"].get("with") or {})
    if spec.get("inputs"):
        inputs["datasets"] = [{"name": n, "ref": (d.get("with") or {}).get("ref")} for n, d in spec["inputs"].items()]
    output = (train.get("outputs") or {}).get("model")
    if output and output.get("type") == "model":
        model = output.get("with") or {}
        inputs["model"] = {"name": model.get("name"), "path": model.get("path", "/outputs/model")}
    return inputs


class ExperimentLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        # Adopt a workflow of this name in the project: after a failed `up` (Pulumi records nothing for a failed
        # create) the next one finds it again, keeps its history and retries, instead of leaving it orphaned.
        adopted = [w for w in self.api.list_workflows(inputs["projectId"]) if w.name == inputs["name"]]
        if adopted:
            log.info("experiment %r: adopting the existing workflow %s of that name", inputs["name"], adopted[0].id)
        workflow = (
            adopted[0] if adopted else self.api.create_workflow(inputs["projectId"], inputs["name"], build_spec(inputs))
        )
        return Created(workflow.id, self._ensure_run(workflow, inputs))

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if not self.diff(olds, news).starts_run:
            return {**olds, **news}
        return self._ensure_run(self.api.get_workflow(ident), news)

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            workflow = self.api.get_workflow(ident)
            runs = self.api.list_runs(ident)
        except NotFoundError:
            return None
        live_spec = runs[-1].spec if runs else workflow.spec or {}
        kept = {key: state[key] for key in _KEPT_FROM_STATE if key in state}
        inputs = self.table.with_defaults({**inputs_from_spec(workflow, live_spec), **kept})
        return Observed(ident, self._outputs(workflow, runs, inputs), inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        try:
            for run in self.api.list_runs(ident):
                if run.active:
                    self.api.cancel_run(ident, run.seq)
            self.api.delete_workflow(ident)
        except NotFoundError:
            pass

    def _ensure_run(self, workflow: Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
        """Start a run for the inputs, unless the latest run already is one (still going or succeeded); wait."""
        spec = build_spec(inputs)
        runs = self.api.list_runs(workflow.id)
        latest = runs[-1] if runs else None
        if latest is None or spec_key(latest.spec) != run_key(inputs) or latest.phase in _FINAL_FAILURES:
            if workflow.spec != spec:
                self.api.update_workflow(workflow.id, spec=spec)  # the definition follows the latest run
            latest = self.api.start_run(workflow.id, spec)
            runs.append(latest)
        runs[-1] = self._wait(workflow, latest, inputs)
        return self._outputs(workflow, runs, inputs)

    def _wait(self, workflow: Workflow, run: WorkflowRun, inputs: dict[str, Any]) -> WorkflowRun:
        what = f"experiment {workflow.name!r} ({workflow.id}) run {run.seq}"
        wait: str = inputs["wait"]
        current = run

        def probe() -> tuple[bool, str]:
            nonlocal current
            current = self.api.get_run(workflow.id, run.seq)
            if current.phase in _FINAL_FAILURES:
                raise OperationFailedError(f"{what} {current.phase.lower()}: {current.message or 'no message'}")
            done = current.phase == "Succeeded" or (wait == "started" and current.phase == "Running") or wait == "none"
            return done, current.phase

        if wait == "none":
            return current
        self.wait_until(what, probe, inputs["timeoutSeconds"])
        return current

    def _outputs(self, workflow: Workflow, runs: list[WorkflowRun], inputs: dict[str, Any]) -> dict[str, Any]:
        latest = runs[-1] if runs else None
        model_id = None
        if inputs.get("model"):
            named = [m for m in self.api.list_models(workflow.project_id) if m.name == inputs["model"]["name"]]
            model_id = max(named, key=lambda m: m.dt_created).id if named else None
        return {
            **inputs,
            "workflowId": workflow.id,
            "runNumber": latest.seq if latest else None,
            "phase": latest.phase if latest else None,
            "startedAt": latest.started if latest else None,
            "finishedAt": latest.finished if latest else None,
            "modelId": model_id,
            "runs": [{"number": r.seq, "specHash": spec_key(r.spec), "phase": r.phase} for r in runs],
        }
