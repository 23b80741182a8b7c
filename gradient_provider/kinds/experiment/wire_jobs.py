"""The wire mapping of an experiment with `jobs`: each job a `container@v1` job of one workflow run.

The experiment's `machineType` and `env` become the spec's `defaults` (with the run key); a job's own
`machineType` and `env` its `resources` and `env`. An input from another job is the reference
`<job>.outputs.<output>`; a dataset input or output is an inline `{type: dataset, with: {ref}}` naming the
dataset by id (`<id>:<version>` for a version); a volume output is `{type: volume}`. The workspace is a
`git-checkout@v1` job every job needs, and the model a `create-model@v1` job fed by the model's job output.
"""

from __future__ import annotations

from typing import Any

from ...lifecycles.base import OperationFailedError
from .jobs import ARTIFACTS, CLONE_JOB, LATEST, MODEL_JOB, REPO_INPUT, VOLUME, canonical, model_output, outputs_of

CREATE_MODEL = "create-model@v1"
CHECKOUT = "git-checkout@v1"


def is_jobs_spec(spec: dict[str, Any]) -> bool:
    """Whether a spec was written from `jobs` rather than a single job: its machine type is a default (a
    single job carries its own), or it has a container job besides `train`."""
    defaults = spec.get("defaults") or {}
    containers = [n for n, j in (spec.get("jobs") or {}).items() if j.get("uses") not in (CHECKOUT, CREATE_MODEL)]
    return bool((defaults.get("resources") or {}).get("instance-type")) or containers != ["train"]


def build(inputs: dict[str, Any], defaults_env: dict[str, str], helper_machine: str) -> dict[str, Any]:
    inputs = canonical(inputs)
    ids: dict[str, str] = inputs.get("datasetIds") or {}
    defaults: dict[str, Any] = {"env": defaults_env}
    if inputs.get("machineType"):
        defaults["resources"] = {"instance-type": inputs["machineType"]}
    spec: dict[str, Any] = {"defaults": defaults, "jobs": {}}
    workspace = inputs.get("workspace")
    if workspace:
        spec["jobs"][CLONE_JOB] = {
            "uses": CHECKOUT,
            "with": {name: value for name, value in workspace.items() if name in ("url", "ref")},
            "outputs": {REPO_INPUT: {"type": "volume"}},
            "resources": {"instance-type": helper_machine},
        }
    for name, job in inputs["jobs"].items():
        spec["jobs"][name] = _container(job, ids, checkout=bool(workspace))
    model = inputs.get("model")
    if model:
        spec["jobs"][MODEL_JOB] = {
            "uses": CREATE_MODEL,
            "needs": [model["job"]],
            "inputs": {"model": f"{model['job']}.outputs.{model_output(model)}"},
            "with": {"name": model["name"], "type": "Custom"},
            "outputs": {"model-id": {"type": "string"}},
            "resources": {"instance-type": helper_machine},
        }
    return spec


def _container(job: dict[str, Any], ids: dict[str, str], *, checkout: bool) -> dict[str, Any]:
    built: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": job["image"], "args": ["sh", "-c", job["command"]]},
    }
    if job.get("machineType"):
        built["resources"] = {"instance-type": job["machineType"]}
    if job.get("env"):
        built["env"] = dict(sorted(job["env"].items()))
    needs = ([CLONE_JOB] if checkout else []) + list(job.get("needs") or [])
    if needs:
        built["needs"] = needs
    mounted: dict[str, Any] = {REPO_INPUT: f"{CLONE_JOB}.outputs.{REPO_INPUT}"} if checkout else {}
    for slot, source in (job.get("inputs") or {}).items():
        if "job" in source:
            mounted[slot] = f"{source['job']}.outputs.{source.get('output', slot)}"
        elif "dataset" in source:
            version = source.get("version")
            suffix = f":{version}" if version and version != LATEST else ""
            mounted[slot] = _dataset(_id(ids, source["dataset"]) + suffix)
        else:
            mounted[slot] = _dataset(source["ref"])
    if mounted:
        built["inputs"] = mounted
    written = {
        slot: {"type": "volume"} if target == VOLUME else _dataset(_id(ids, target["dataset"]))
        for slot, target in outputs_of(job).items()
    }
    if written:
        built["outputs"] = written
    return built


def _dataset(ref: str) -> dict[str, Any]:
    return {"type": "dataset", "with": {"ref": ref}}


def _id(ids: dict[str, str], key: str) -> str:
    if key not in ids:
        raise OperationFailedError(f"dataset {key!r} has no id: it is not one of the stack's datasets")
    return ids[key]


def inputs_from(spec: dict[str, Any], dataset_ids: dict[str, str]) -> dict[str, Any]:
    """The `jobs`, `machineType`, `workspace` and `model` a jobs spec reflects (``build``'s inverse); a dataset
    is named by its key in ``dataset_ids`` (the state's), or by `ref` when it is none of them."""
    keys = {dataset_id: key for key, dataset_id in dataset_ids.items()}
    spec_jobs: dict[str, Any] = spec.get("jobs") or {}
    found: dict[str, Any] = {"jobs": {}}
    machine = ((spec.get("defaults") or {}).get("resources") or {}).get("instance-type")
    if machine:
        found["machineType"] = machine
    used: set[str] = set()
    for name, job in spec_jobs.items():
        uses = job.get("uses")
        if name == CLONE_JOB and uses == CHECKOUT:
            found["workspace"] = dict(job.get("with") or {})
        elif name == MODEL_JOB and uses == CREATE_MODEL:
            source = str((job.get("inputs") or {}).get("model", ""))
            producer, _, output = source.partition(".outputs.")
            found["model"] = {
                "name": (job.get("with") or {}).get("name"),
                "job": producer,
                "path": f"/outputs/{output}",
            }
        else:
            found["jobs"][name] = _job_from(job, keys, used)
    ids = {key: dataset_id for dataset_id, key in keys.items() if dataset_id in used}
    if ids:
        found["datasetIds"] = ids
    return found


def _job_from(job: dict[str, Any], keys: dict[str, str], used: set[str]) -> dict[str, Any]:
    with_ = job.get("with") or {}
    args = with_.get("args") or []
    found: dict[str, Any] = {
        "image": with_.get("image"),
        "command": args[2] if args[:2] == ["sh", "-c"] and len(args) == 3 else " ".join(map(str, args)),
    }
    machine = (job.get("resources") or {}).get("instance-type")
    if machine:
        found["machineType"] = machine
    if job.get("env"):
        found["env"] = dict(job["env"])
    needs = [n for n in job.get("needs") or [] if n != CLONE_JOB]
    if needs:
        found["needs"] = needs
    mounted: dict[str, Any] = {}
    for slot, source in (job.get("inputs") or {}).items():
        if isinstance(source, str):
            if slot == REPO_INPUT and source == f"{CLONE_JOB}.outputs.{REPO_INPUT}":
                continue
            producer, _, output = source.partition(".outputs.")
            mounted[slot] = {"job": producer, **({"output": output} if output != slot else {})}
        else:
            ref = str((source.get("with") or {}).get("ref", ""))
            dataset_id, _, version = ref.partition(":")
            if dataset_id in keys:
                used.add(dataset_id)
                mounted[slot] = {"dataset": keys[dataset_id], **({"version": version} if version else {})}
            else:
                mounted[slot] = {"ref": ref}
    if mounted:
        found["inputs"] = mounted
    written: dict[str, Any] = {}
    for slot, target in (job.get("outputs") or {}).items():
        if target.get("type") == "dataset":
            dataset_id = str((target.get("with") or {}).get("ref", ""))
            used.add(dataset_id)
            value: Any = {"dataset": keys.get(dataset_id, dataset_id)}
            if slot == ARTIFACTS:
                found[ARTIFACTS] = value
                continue
        else:
            value = VOLUME
        written[slot] = value
    if written:
        found["outputs"] = written
    return found
