"""The Experiment's field-policy table: every input, what a change to it does, and its outputs."""

from __future__ import annotations

from ...lifecycles import secret_env
from ...lifecycles.policy import (
    ADOPT,
    WAIT_IN_STACK,
    FieldRule,
    FieldTable,
    Policy,
    Risk,
    adopt_rule,
    name_rule,
    project_rule,
    unique_by,
    wait_in_stack_rule,
    waiting_rules,
)
from ...workspace import HASH_INPUT
from . import jobs

RUN_KEY_ENV = "GRADIENT_STACKS_RUN_KEY"
HELPER_INSTANCE_TYPE = "C4"  # the git checkout and the model registration need no GPU
TRAIN_JOB = "train"  # the job of a single-job experiment
CLONE_JOB, MODEL_JOB = jobs.CLONE_JOB, jobs.MODEL_JOB
WORKSPACE_HASH = HASH_INPUT  # a local workspace's content hash: in the run key, so in the diff
MODEL_OUTPUT = "model-id"
DEFAULT_MODEL_PATH = "/outputs/model"
SECRET_PREFIX = "EXPERIMENT"  # prefix of its project secrets' names
_STRING = {"type": "string", "minLength": 1}

TABLE = FieldTable(
    kind="Experiment",
    fields={
        "projectId": project_rule(
            Risk.RETRAIN, "Project that holds the experiment's workflow. Changing it replaces the experiment."
        ),
        "name": name_rule(Policy.REPLACE, Risk.RETRAIN, "Workflow name. Changing it replaces the experiment."),
        "image": FieldRule(
            Policy.NEW_RUN, Risk.RETRAIN, _STRING, "Container image to train in (a single-job experiment)."
        ),
        "command": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            _STRING,
            "Shell command that trains, run with `sh -c` (a single-job experiment).",
        ),
        "machineType": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            _STRING,
            "Machine type, e.g. A100-80G: the single job's, or the default of every job of `jobs`.",
        ),
        "jobs": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            jobs.JOBS_SCHEMA,
            "Several jobs in one run, by name (instead of `image` and `command`): each with `image`, `command`, and "
            "optionally `machineType`, `env`, `needs` (jobs that must succeed first), `inputs` (at /inputs/<name>: "
            "`{job: NAME}` a volume another job outputs, `{dataset: KEY, version?}` a dataset version, `{ref: ID}` "
            "a dataset outside the stack), `outputs` (at /outputs/<name>: `volume` for later jobs, `{dataset: KEY}` "
            "committed as a new version per run) and `artifacts` (`{dataset: KEY}`: /outputs/artifacts committed "
            "per run).",
        ),
        "datasetIds": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
            "Id of each dataset the jobs name by key (set by the program from `datasets`).",
            provider_only=True,
        ),
        "env": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "type": "object",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": "string"},
            },
            "Environment variables of the job; with `jobs`, of every job (a job's own `env` comes on top).",
            secret_values=True,
        ),
        "workspace": FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["url"],
                        "additionalProperties": False,
                        "properties": {
                            "url": {**_STRING, "description": "Git URL to clone."},
                            "ref": {**_STRING, "description": "Branch, tag or commit; the default branch when absent."},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {
                            "path": {
                                **_STRING,
                                "description": "A directory of this repository, relative to its root (the folder "
                                "holding `stacks/`), e.g. ./training.",
                            },
                            "ignore": {
                                "type": "array",
                                "items": _STRING,
                                "description": "gitignore patterns of files not to upload, over the directory's "
                                ".gitignore and .gradientignore files.",
                            },
                        },
                    },
                ],
                "x-expected": "{url, ref?} (a git repository) or {path, ignore?} (a directory of this repository)",
            },
            "The code every job sees at /inputs/repo: a git repository (`url`, optional `ref`) checked out by a "
            "`git-checkout@v1` job, or a directory of this repository (`path`, relative to its root; `ignore` "
            "patterns over its .gitignore and .gradientignore) packed, uploaded to the stack's workspace bucket "
            "and unpacked for the run. A local workspace's content is part of the run: editing a file starts a "
            "new run, touching one or adding an ignored one does not.",
        ),
        WORKSPACE_HASH: FieldRule(
            Policy.NEW_RUN,
            Risk.RETRAIN,
            {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "Content hash of the local workspace's files (set by the program from `workspace.path`).",
            provider_only=True,
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
            "Datasets mounted at /inputs/<name> (a single-job experiment; jobs have `inputs`); `ref` is a dataset "
            "id, optionally `id:version`.",
            semantic=unique_by("name", "dataset names (each is a mount point)"),
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
                    "job": {
                        "type": "string",
                        "pattern": jobs.NAME_PATTERN,
                        "description": "The job of `jobs` that writes the model (required with `jobs`).",
                    },
                    "path": {
                        "type": "string",
                        "pattern": "^/outputs/[A-Za-z][A-Za-z0-9_-]*$",
                        "x-expected": "an output directory /outputs/<name> (v1 registers a model from a job output)",
                        "description": "Where the job writes the model: an output directory, /outputs/<name>.",
                    },
                },
            },
            "Register a job's output directory (`path`, default /outputs/model; with `jobs`, of the job `job`) as "
            "a model named `name`, through a `create-model@v1` job.",
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
        WAIT_IN_STACK: wait_in_stack_rule(),
        ADOPT: adopt_rule("experiment"),
    },
    outputs={
        "workflowId": "the Paperspace workflow id (also the resource id)",
        "runNumber": "number of the latest run",
        "phase": "phase of the latest run, as Paperspace spells it (Pending, Running, Succeeded, Failed, Error, "
        "Canceled, ...)",
        "startedAt": "when the latest run started",
        "finishedAt": "when the latest run finished",
        "modelId": "the newest model registered under `model.name`",
        "runs": "every run: number, specHash, phase, and per job its phase, start, end and message",
        "artifacts": "per run and job with `artifacts`: the dataset version committed (datasetId, version)",
        "datasetVersions": "per run, job and dataset output (artifacts included): the version committed",
        secret_env.REVISION_OUTPUT: "how many times the secret env values changed (each change starts a run)",
        secret_env.RETIRED_OUTPUT: "project secrets no longer referred to, deleted once no run can use them",
    },
    checks=(jobs.check,),
    canonical=jobs.canonical,
)
