"""The Experiment's field-policy table: every input, what a change to it does, and its outputs."""

from __future__ import annotations

from ...lifecycles import secret_env
from ...lifecycles.policy import FieldRule, FieldTable, Policy, Risk, name_rule, project_rule, unique_by, waiting_rules

RUN_KEY_ENV = "GRADIENT_STACKS_RUN_KEY"
HELPER_INSTANCE_TYPE = "C4"  # the git checkout and the model registration need no GPU
TRAIN_JOB, CLONE_JOB, MODEL_JOB = "train", "clone", "create-model"
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
            secret_values=True,
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
