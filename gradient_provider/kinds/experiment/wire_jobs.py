"""The wire mapping of an experiment with `jobs`: each job a `container@v1` job of one workflow run.

The experiment's `machineType` and `env` become the spec's `defaults` (with the run key); a job's own
`machineType` and `env` its `resources` and `env`. An input from another job is the reference
`<job>.outputs.<output>`; a dataset input or output is an inline `{type: dataset, with: {ref}}` naming the
dataset by id (`<id>:<version>` for a version); a volume output is `{type: volume}`. The workspace is a
`git-checkout@v1` job every job needs (or, for a local workspace, its download and unpack jobs: see
``workspace_jobs``), and the model a `create-model@v1` job fed by the model's job output.
"""

from __future__ import annotations

import re
from typing import Any

from ...lifecycles.base import OperationFailedError
from ...workspace import HASH_INPUT, OBJECT_INPUT, is_local
from ...workspace.pack import ARCHIVE_NAME
from .jobs import (
    ARTIFACTS,
    CLONE_JOB,
    DOWNLOAD_JOB,
    LATEST,
    MODEL_JOB,
    REPO_INPUT,
    UNPACK_JOB,
    VOLUME,
    canonical,
    model_output,
    outputs_of,
)

CREATE_MODEL = "create-model@v1"
CHECKOUT = "git-checkout@v1"
S3_DOWNLOAD = "s3-download@v1"
ARCHIVE_VOLUME = "archive"
# The unpack job's image: any with GNU tar and gzip. Debian's slim image is small, public and has both.
UNPACK_IMAGE = "debian:bookworm-slim"
UNPACK_COMMAND = (
    f"tar -xzf /inputs/{ARCHIVE_VOLUME}/{ARCHIVE_NAME} -C /outputs/{REPO_INPUT} --no-same-owner && "
    f"echo unpacked $(find /outputs/{REPO_INPUT} -type f | wc -l) files"
)
_HELPERS = (CHECKOUT, CREATE_MODEL, S3_DOWNLOAD)
_HASH = re.compile("[0-9a-f]{64}")


def is_jobs_spec(spec: dict[str, Any]) -> bool:
    """Whether a spec was written from `jobs` rather than a single job: its machine type is a default (a
    single job carries its own), or it has a container job besides `train`."""
    defaults = spec.get("defaults") or {}
    containers = [n for n, j in (spec.get("jobs") or {}).items() if j.get("uses") not in _HELPERS and n != UNPACK_JOB]
    return bool((defaults.get("resources") or {}).get("instance-type")) or containers != ["train"]


def workspace_jobs(inputs: dict[str, Any], helper_machine: str) -> tuple[dict[str, Any], str]:
    """The helper jobs that put the workspace in the volume `repo`, and the job whose output it is (every job
    mounts it at /inputs/repo).

    A git workspace is one `git-checkout@v1` job. A local one is uploaded (``workspaceObject``: where, and the
    project secrets of the bucket's credentials) and takes two: `s3-download@v1` copies the hash's folder
    (`s3://bucket/gradient-workspaces/<hash>/`, the docs' form) into the volume `archive`, then a container
    unpacks the archive into `repo`. The action copies objects and does not unpack (its docs say so), so the
    unpacking is a job of its own.
    """
    workspace = inputs["workspace"]
    if not is_local(workspace):
        checkout = {
            "uses": CHECKOUT,
            "with": {name: value for name, value in workspace.items() if name in ("url", "ref")},
            "outputs": {REPO_INPUT: {"type": "volume"}},
            "resources": {"instance-type": helper_machine},
        }
        return {CLONE_JOB: checkout}, CLONE_JOB
    found = inputs.get(OBJECT_INPUT)
    if not found:
        raise OperationFailedError("the local workspace was not uploaded before its run's spec was built")
    download_with = {
        "url": found["url"],
        "access-key": found["accessKey"],
        "secret-access-key": found["secretAccessKey"],
        **{name: found[name] for name in ("endpoint", "region") if found.get(name)},
    }
    download = {
        "uses": S3_DOWNLOAD,
        "with": download_with,
        "outputs": {ARCHIVE_VOLUME: {"type": "volume"}},
        "resources": {"instance-type": helper_machine},
    }
    unpack = {
        "uses": "container@v1",
        "needs": [DOWNLOAD_JOB],
        "inputs": {ARCHIVE_VOLUME: f"{DOWNLOAD_JOB}.outputs.{ARCHIVE_VOLUME}"},
        "with": {"image": UNPACK_IMAGE, "args": ["sh", "-c", UNPACK_COMMAND]},
        "outputs": {REPO_INPUT: {"type": "volume"}},
        "resources": {"instance-type": helper_machine},
    }
    return {DOWNLOAD_JOB: download, UNPACK_JOB: unpack}, UNPACK_JOB


def local_workspace_from(spec: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """What a spec with a local workspace reflects: its content hash (in the download's URL) and, from state, the
    `workspace` entry (a spec cannot say which directory or ignore rules made the archive)."""
    download = (spec.get("jobs") or {}).get(DOWNLOAD_JOB) or {}
    if download.get("uses") != S3_DOWNLOAD:
        return {}
    found: dict[str, Any] = {}
    url = str((download.get("with") or {}).get("url", ""))
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    if _HASH.fullmatch(tail):
        found[HASH_INPUT] = tail
    if is_local(state.get("workspace")):
        found["workspace"] = state["workspace"]
    return found


def build(inputs: dict[str, Any], defaults_env: dict[str, str], helper_machine: str) -> dict[str, Any]:
    inputs = canonical(inputs)
    ids: dict[str, str] = inputs.get("datasetIds") or {}
    defaults: dict[str, Any] = {"env": defaults_env}
    if inputs.get("machineType"):
        defaults["resources"] = {"instance-type": inputs["machineType"]}
    spec: dict[str, Any] = {"defaults": defaults, "jobs": {}}
    tree_job: str | None = None  # the job whose volume `repo` is the workspace
    if inputs.get("workspace"):
        helpers, tree_job = workspace_jobs(inputs, helper_machine)
        spec["jobs"].update(helpers)
    for name, job in inputs["jobs"].items():
        spec["jobs"][name] = _container(job, ids, tree_job)
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


def _container(job: dict[str, Any], ids: dict[str, str], tree_job: str | None) -> dict[str, Any]:
    built: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": job["image"], "args": ["sh", "-c", job["command"]]},
    }
    if job.get("machineType"):
        built["resources"] = {"instance-type": job["machineType"]}
    if job.get("env"):
        built["env"] = dict(sorted(job["env"].items()))
    needs = ([tree_job] if tree_job else []) + list(job.get("needs") or [])
    if needs:
        built["needs"] = needs
    mounted: dict[str, Any] = {REPO_INPUT: f"{tree_job}.outputs.{REPO_INPUT}"} if tree_job else {}
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
        elif (name == DOWNLOAD_JOB and uses == S3_DOWNLOAD) or (name == UNPACK_JOB and DOWNLOAD_JOB in spec_jobs):
            continue  # a local workspace: see local_workspace_from
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
    needs = [n for n in job.get("needs") or [] if n not in (CLONE_JOB, UNPACK_JOB)]
    if needs:
        found["needs"] = needs
    mounted: dict[str, Any] = {}
    for slot, source in (job.get("inputs") or {}).items():
        if isinstance(source, str):
            if slot == REPO_INPUT and source in (
                f"{CLONE_JOB}.outputs.{REPO_INPUT}",
                f"{UNPACK_JOB}.outputs.{REPO_INPUT}",
            ):
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
