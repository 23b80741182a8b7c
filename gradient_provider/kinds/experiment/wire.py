"""The Experiment's wire mapping: provider inputs <-> the v1 workflow spec of a run (and back, for refresh).

The v1 spec, as the workflow docs and the OpenAPI describe it: a `container@v1` job `train`; a workspace is a
`git-checkout@v1` job `clone` whose volume `repo` the training job takes as an input (a local workspace: the
`workspace-unpack` job's volume `repo`, see ``wire_jobs.workspace_jobs``); datasets are workflow
inputs (`type: dataset`, `with.ref`) that the job refers to as `workflow.inputs.<name>`; a model is the
training job's output volume, registered by a `create-model@v1` job whose string output `model-id` names it.
Each run's spec carries the run key (a hash of the run-affecting fields) in its default env, so a run can be
recognised after a lost response or a failed up. An experiment with `jobs` is mapped by ``wire_jobs``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ...client.models import WorkflowRun
from ...lifecycles import secret_env
from ...lifecycles.policy import Policy
from . import wire_jobs
from .jobs import ARTIFACTS
from .table import (
    CLONE_JOB,
    DEFAULT_MODEL_PATH,
    HELPER_INSTANCE_TYPE,
    MODEL_JOB,
    MODEL_OUTPUT,
    RUN_KEY_ENV,
    SECRET_PREFIX,
    TABLE,
    TRAIN_JOB,
)

# The run-affecting fields of the first single-job experiments, always in the key (null when absent), so that
# their runs keep their keys; fields added since count only when set.
_KEYED_ALWAYS = ("image", "command", "machineType", "env", "workspace", "datasets", "model", "rerun")
_RUN_FIELDS = [name for name in TABLE.by_policy(Policy.NEW_RUN) if name != secret_env.FIELD]
_KEYED_WHEN_SET = [name for name in _RUN_FIELDS if name not in _KEYED_ALWAYS]


def run_key(inputs: dict[str, Any], secrets_revision: int) -> str:
    """Identity of a run: a hash of every run-affecting field. Secret values are not in it: their names and
    the revision counter are, so it proves nothing about a value."""
    identity = {name: inputs.get(name) for name in _KEYED_ALWAYS}
    identity.update({name: inputs[name] for name in _KEYED_WHEN_SET if inputs.get(name) is not None})
    identity[secret_env.FIELD] = sorted(inputs.get(secret_env.FIELD) or {})
    identity[secret_env.REVISION_OUTPUT] = secrets_revision
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def model_output(path: str | None) -> str:
    """The training job's output that holds the model: /outputs/<name> is the output <name>."""
    return (path or DEFAULT_MODEL_PATH).removeprefix("/outputs/")


def build_spec(inputs: dict[str, Any], secrets_revision: int = 0) -> dict[str, Any]:
    if inputs.get("jobs"):
        env = dict(inputs.get("env") or {})
        env.update(secret_env.references(SECRET_PREFIX, inputs["name"], inputs.get(secret_env.FIELD) or {}))
        env[RUN_KEY_ENV] = run_key(inputs, secrets_revision)
        return wire_jobs.build(inputs, dict(sorted(env.items())), HELPER_INSTANCE_TYPE)
    train: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": inputs["image"], "args": ["sh", "-c", inputs["command"]]},
        "resources": {"instance-type": inputs["machineType"]},
    }
    env = dict(inputs.get("env") or {})
    env.update(secret_env.references(SECRET_PREFIX, inputs["name"], inputs.get(secret_env.FIELD) or {}))
    if env:
        train["env"] = dict(sorted(env.items()))
    key = run_key(inputs, secrets_revision)
    spec: dict[str, Any] = {"defaults": {"env": {RUN_KEY_ENV: key}}, "jobs": {}}
    job_inputs: dict[str, Any] = {}
    if inputs.get("workspace"):
        helpers, source = wire_jobs.workspace_jobs(inputs, HELPER_INSTANCE_TYPE)
        spec["jobs"].update(helpers)
        train["needs"] = [source]
        job_inputs["repo"] = f"{source}.outputs.repo"
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


def inputs_from_spec(workflow_name: str, spec: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The run-affecting inputs that a live spec reflects (the inverse of ``build_spec``); the project, which
    v1 workflows do not carry, and secret values, which cannot be read back, come from ``state``. The state
    also says whether the experiment has `jobs` (a spec without state is judged by its shape)."""
    known_form = "jobs" in state or "image" in state
    jobs_form = "jobs" in state if known_form else wire_jobs.is_jobs_spec(spec)
    inputs: dict[str, Any] = {"projectId": state.get("projectId"), "name": workflow_name}
    if jobs_form:
        inputs.update(wire_jobs.inputs_from(spec, state.get("datasetIds") or {}))
        env = dict((spec.get("defaults") or {}).get("env") or {})
        env.pop(RUN_KEY_ENV, None)
    else:
        inputs.update(_single_job_inputs(spec))
        env = dict(((spec.get("jobs") or {}).get(TRAIN_JOB) or {}).get("env") or {})
    inputs.update(wire_jobs.local_workspace_from(spec, state))
    known_secrets = state.get(secret_env.FIELD) or {}
    refs = secret_env.references(SECRET_PREFIX, workflow_name, known_secrets)
    secret_values = {var: known_secrets[var] for var, ref in refs.items() if env.get(var) == ref}
    for var in secret_values:
        env.pop(var)
    if env:
        inputs["env"] = env
    if secret_values:
        inputs[secret_env.FIELD] = secret_values
    return inputs


def _single_job_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    jobs = spec.get("jobs") or {}
    train = jobs.get(TRAIN_JOB) or {}
    args = (train.get("with") or {}).get("args") or []
    inputs: dict[str, Any] = {
        "image": (train.get("with") or {}).get("image"),
        "command": args[2] if args[:2] == ["sh", "-c"] and len(args) == 3 else " ".join(map(str, args)),
        "machineType": (train.get("resources") or {}).get("instance-type"),
    }
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


def dataset_versions(run: WorkflowRun) -> list[dict[str, Any]]:
    """The dataset versions a run committed: one per job and dataset output, as its status reports them
    (`outputs.<name>.dataset.id` = `<datasetId>:<version>`)."""
    found = []
    for job_name, job in run.jobs.items():
        for output, value in job.outputs.items():
            dataset = value.get("dataset") if isinstance(value, dict) else None
            ref = str(dataset.get("id") or "") if isinstance(dataset, dict) else ""
            if ":" not in ref:
                continue
            dataset_id, _, version = ref.partition(":")
            found.append(
                {
                    "run": run.number,
                    "job": job_name,
                    "output": output,
                    "datasetId": dataset_id,
                    "version": version,
                    "artifacts": output == ARTIFACTS,
                }
            )
    return found


def model_id_of(run: WorkflowRun) -> str | None:
    """The model a succeeded run registered: its create-model job's string output `model-id`."""
    job = run.jobs.get(MODEL_JOB)
    value = job.outputs.get(MODEL_OUTPUT) if job else None
    if isinstance(value, dict):  # the docs do not show how a string output is rendered in a status
        value = value.get("value") or value.get("id")
    return str(value) if value else None
