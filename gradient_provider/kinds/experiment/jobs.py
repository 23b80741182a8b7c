"""An experiment's jobs: their stack-file schema and the checks across them (the run's DAG), before any API call.

Several jobs run in one experiment (one workflow run): each is a container with a command on a machine type;
`needs` orders them; `inputs` mount what other jobs of the run output (volumes) or a dataset version;
`outputs` are volumes passed to later jobs (gone when the run ends: Gradient's volumes hold at most 5 GB and do
not outlive their run) or datasets, of which each run commits a new version. `artifacts` is a dataset output
named `artifacts`. The experiment's `machineType` and `env` are defaults every job inherits.
"""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any

from ...lifecycles.policy import EntryProblem

NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$"
CLONE_JOB, MODEL_JOB = "clone", "create-model"  # the helper jobs the wire mapping adds
# A local workspace's helper jobs: the archive downloaded from the bucket, then unpacked into the volume `repo`.
DOWNLOAD_JOB, UNPACK_JOB = "workspace-download", "workspace-unpack"
RESERVED_JOBS = (CLONE_JOB, MODEL_JOB, DOWNLOAD_JOB, UNPACK_JOB)
REPO_INPUT = "repo"  # the workspace (checkout or unpacked directory), an input of every job when it is set
ARTIFACTS = "artifacts"  # the output a job's `artifacts` becomes: /outputs/artifacts
VOLUME = "volume"
LATEST = "latest"
MAX_JOBS = 20

_STRING = {"type": "string", "minLength": 1}
_NAME = {"type": "string", "pattern": NAME_PATTERN}
_DATASET_KEY = {**_NAME, "x-reference": "datasets", "description": "Key of a dataset under `datasets`."}

INPUT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["job"],
            "additionalProperties": False,
            "properties": {
                "job": {**_NAME, "description": "A job of this experiment (listed in `needs`) that outputs it."},
                "output": {**_NAME, "description": "That job's output; the input's own name when absent."},
            },
        },
        {
            "type": "object",
            "required": ["dataset"],
            "additionalProperties": False,
            "properties": {
                "dataset": _DATASET_KEY,
                "version": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9]+$",
                    "description": "A committed version; `latest` (the default) is the newest committed one.",
                },
            },
        },
        {
            "type": "object",
            "required": ["ref"],
            "additionalProperties": False,
            "properties": {
                "ref": {
                    **_STRING,
                    "description": "A dataset outside this stack: its id or name, optionally `:version`.",
                }
            },
        },
    ],
    "x-expected": "{job: NAME}, {dataset: KEY, version?} or {ref: DATASET_ID[:VERSION]}",
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"const": VOLUME, "description": "A volume (at most 5 GB) for later jobs of the same run."},
        {
            "type": "object",
            "required": ["dataset"],
            "additionalProperties": False,
            "properties": {"dataset": _DATASET_KEY},
        },
    ],
    "x-expected": "`volume`, or {dataset: KEY}",
}
JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["image", "command"],
    "additionalProperties": False,
    "properties": {
        "image": {**_STRING, "description": "Container image."},
        "command": {**_STRING, "description": "Shell command (run with `sh -c`)."},
        "machineType": {**_STRING, "description": "Machine type; the experiment's `machineType` when absent."},
        "env": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": "string"},
            "description": "Environment variables, over the experiment's `env` (plain strings or `secret:NAME`).",
        },
        "needs": {
            "type": "array",
            "items": _NAME,
            "uniqueItems": True,
            "description": "Jobs that must succeed before this one starts.",
        },
        "inputs": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": INPUT_SCHEMA,
            "description": "Mounted read-only at /inputs/<name>.",
        },
        "outputs": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": OUTPUT_SCHEMA,
            "description": "Written at /outputs/<name>.",
        },
        ARTIFACTS: {
            "type": "object",
            "required": ["dataset"],
            "additionalProperties": False,
            "properties": {"dataset": _DATASET_KEY},
            "description": "Commit /outputs/artifacts as a new version of this dataset on each run.",
        },
    },
}
JOBS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_JOBS,
    "propertyNames": {"pattern": NAME_PATTERN, "not": {"enum": list(RESERVED_JOBS)}},
    "additionalProperties": JOB_SCHEMA,
}


def outputs_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """A job's outputs with its `artifacts` among them."""
    found = dict(job.get("outputs") or {})
    if job.get(ARTIFACTS):
        found[ARTIFACTS] = job[ARTIFACTS]
    return found


def dataset_keys(jobs: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Every dataset key the jobs name, with its path below `jobs` (Reference.within)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(jobs, dict):
        return found
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        for section in ("inputs", "outputs"):
            for slot, value in (job.get(section) or {}).items():
                if isinstance(value, dict) and isinstance(value.get("dataset"), str):
                    found.append(((name, section, slot, "dataset"), value["dataset"]))
        artifacts = job.get(ARTIFACTS)
        if isinstance(artifacts, dict) and isinstance(artifacts.get("dataset"), str):
            found.append(((name, ARTIFACTS, "dataset"), artifacts["dataset"]))
    return found


def model_output(model: Mapping[str, Any]) -> str:
    """The output of the model's job that holds the model: /outputs/<name> is the output <name>."""
    return str(model.get("path") or "/outputs/model").removeprefix("/outputs/")


def check(entry: Mapping[str, Any]) -> list[EntryProblem]:
    """The experiment's shape (one job or `jobs`) and the DAG of its jobs; paths relative to the entry."""
    jobs = entry.get("jobs")
    if jobs is None:
        return _single_job_problems(entry)
    problems: list[EntryProblem] = [
        ((name,), f"`{name}` is for a single-job experiment; with `jobs`, set it on each job")
        for name in ("image", "command", "datasets")
        if entry.get(name) is not None
    ]
    for name, job in jobs.items():
        problems += _job_problems(entry, jobs, name, job)
    problems += _cycle_problems(jobs)
    problems += _unused_volume_problems(entry, jobs)
    problems += _model_problems(entry, jobs)
    return problems


def _single_job_problems(entry: Mapping[str, Any]) -> list[EntryProblem]:
    missing = [name for name in ("image", "command", "machineType") if entry.get(name) is None]
    problems: list[EntryProblem] = []
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        problems.append(((), f"a single-job experiment needs {listed}; or declare several jobs under `jobs`"))
    if (entry.get("model") or {}).get("job") is not None:
        problems.append((("model", "job"), "names a job of `jobs`, but this experiment has a single job"))
    return problems


def _job_problems(entry: Mapping[str, Any], jobs: Mapping[str, Any], name: str, job: Any) -> list[EntryProblem]:
    problems: list[EntryProblem] = []
    if job.get("machineType") is None and entry.get("machineType") is None:
        problems.append(((("jobs", name)), "no machine type: set `machineType` here or on the experiment"))
    for index, needed in enumerate(job.get("needs") or []):
        if needed == name:
            problems.append((("jobs", name, "needs", index), "a job cannot need itself"))
        elif needed not in jobs:
            problems.append((("jobs", name, "needs", index), _unknown_job(needed, jobs)))
    for slot, source in (job.get("inputs") or {}).items():
        if entry.get("workspace") is not None and slot == REPO_INPUT:
            problems.append(
                (("jobs", name, "inputs", slot), f"`{REPO_INPUT}` is the workspace checkout; name this input otherwise")
            )
        if "job" not in source:
            continue
        path = ("jobs", name, "inputs", slot, "job")
        producer, output = source["job"], source.get("output", slot)
        if producer not in jobs:
            problems.append((path, _unknown_job(producer, jobs)))
        elif producer not in (job.get("needs") or []):
            problems.append((path, f"uses an output of job {producer!r}: add {producer!r} to this job's `needs`"))
        elif output not in outputs_of(jobs[producer]) and not _is_model_output(entry, producer, output):
            listed = ", ".join(sorted(outputs_of(jobs[producer]))) or "none"
            problems.append((path, f"job {producer!r} has no output {output!r} (its outputs: {listed})"))
    if job.get(ARTIFACTS) is not None and ARTIFACTS in (job.get("outputs") or {}):
        problems.append((("jobs", name, "outputs", ARTIFACTS), "`artifacts` is already this job's artifacts output"))
    return problems


def _unknown_job(name: Any, jobs: Mapping[str, Any]) -> str:
    return f"refers to job {name!r}, which is not one of this experiment's jobs: {', '.join(jobs)}"


def _cycle_problems(jobs: Mapping[str, Any]) -> list[EntryProblem]:
    graph = {name: [n for n in (job.get("needs") or []) if n in jobs and n != name] for name, job in jobs.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle = list(reversed(error.args[1]))  # [a, b, ..., a]: each needs the one after it
        chain = f"{cycle[0]} needs {cycle[1]}" + "".join(f", which needs {name}" for name in cycle[2:])
        return [(("jobs", cycle[0], "needs"), f"the jobs' needs form a cycle: {chain}")]
    return []


def _is_model_output(entry: Mapping[str, Any], job: str, output: str) -> bool:
    model = entry.get("model") or {}
    return model.get("job") == job and model_output(model) == output


def _unused_volume_problems(entry: Mapping[str, Any], jobs: Mapping[str, Any]) -> list[EntryProblem]:
    used = {
        (source["job"], source.get("output", slot))
        for job in jobs.values()
        for slot, source in (job.get("inputs") or {}).items()
        if "job" in source
    }
    model = entry.get("model") or {}
    if model.get("job") is not None:
        used.add((model["job"], model_output(model)))
    return [
        (
            ("jobs", name, "outputs", output),
            "a volume that no later job uses: volumes do not outlive their run; use {dataset: KEY} to keep it",
        )
        for name, job in jobs.items()
        for output, kind in (job.get("outputs") or {}).items()
        if kind == VOLUME and (name, output) not in used
    ]


def _model_problems(entry: Mapping[str, Any], jobs: Mapping[str, Any]) -> list[EntryProblem]:
    model = entry.get("model")
    if model is None:
        return []
    if model.get("job") is None:
        return [(("model",), f"name the job that writes the model: `job`, one of {', '.join(jobs)}")]
    if model["job"] not in jobs:
        return [(("model", "job"), _unknown_job(model["job"], jobs))]
    return []


def canonical(inputs: dict[str, Any]) -> dict[str, Any]:
    """The jobs with what they leave implicit made explicit, and what they spell out at its default dropped, so
    that a refresh, which reads the spec back, finds what was declared: a job that writes the model outputs a
    volume at `model.path` unless it declares that output; `version: latest` and an input's `output` equal to
    its own name are the defaults."""
    jobs = inputs.get("jobs")
    if not isinstance(jobs, dict):
        return inputs
    jobs = {name: _canonical_job(job) if isinstance(job, dict) else job for name, job in jobs.items()}
    model = inputs.get("model")
    if isinstance(model, dict) and isinstance(jobs.get(model.get("job")), dict):
        job = jobs[model["job"]]
        output = model_output(model)
        if output not in outputs_of(job):
            jobs[model["job"]] = {**job, "outputs": {**(job.get("outputs") or {}), output: VOLUME}}
    return {**inputs, "jobs": jobs}


def _canonical_job(job: dict[str, Any]) -> dict[str, Any]:
    sources = job.get("inputs")
    if not isinstance(sources, dict):
        return job
    plain = {}
    for slot, source in sources.items():
        if isinstance(source, dict):
            source = {
                key: value
                for key, value in source.items()
                if not (key == "version" and value == LATEST) and not (key == "output" and value == slot)
            }
        plain[slot] = source
    return {**job, "inputs": plain}
