"""What a workflow spec must satisfy beyond its JSON Schema, and the references inside it (no store access).

Sources: the OpenAPI WorkflowSpec (paperspace-v1-openapi.ts) and the DigitalOcean Paperspace workflow docs
(workflow spec reference, Gradient actions, understanding inputs and outputs), as summarised in
docs/emulator.md. Store-dependent checks (datasets exist) happen when a run is created (emulator.artifacts).
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from . import hooks
from .errors import Issue, echo
from .validation import schema_issues

CREATE_MODEL = "create-model@v1"
MODEL_TYPES = ("Tensorflow", "ONNX", "Custom")
# Parameters each documented action needs in `with` (Gradient actions reference).
REQUIRED_WITH: dict[str, tuple[str, ...]] = {
    "container@v1": ("image",),
    "script@v1": ("script", "image"),
    "git-checkout@v1": ("url",),
    "s3-download@v1": ("url", "access-key", "secret-access-key"),
    CREATE_MODEL: ("name",),
}
HOOKS = ("EMULATOR_RUN_SECONDS", "EMULATOR_EXIT_CODE")
MAX_RUN_SECONDS = hooks.MAX_HOOK_SECONDS


@dataclass(frozen=True)
class Reference:
    """A job input written as a string: ``workflow.inputs.<name>`` or ``<job>.outputs.<name>``."""

    job: str | None  # None: a workflow input
    name: str


def parse_reference(text: str) -> Reference | None:
    parts = text.split(".")
    if len(parts) == 3 and parts[0] == "workflow" and parts[1] == "inputs" and parts[2]:
        return Reference(None, parts[2])
    if len(parts) == 3 and parts[1] == "outputs" and parts[0] and parts[2]:
        return Reference(parts[0], parts[2])
    return None


def dataset_ref(with_: Any) -> str | None:
    """The dataset a ``with`` names: ``ref`` (current docs), or ``id`` (older docs)."""
    if not isinstance(with_, dict):
        return None
    value = with_.get("ref", with_.get("id"))
    return value if isinstance(value, str) else None


def job_env(spec: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    return {**spec.get("defaults", {}).get("env", {}), **job.get("env", {})}


def spec_issues(spec: Any, prefix: str = "spec") -> list[Issue]:
    """Every problem of a spec: its schema first, then the rules the schema cannot express."""
    issues = schema_issues("workflow-spec", spec, prefix=prefix)
    return issues or semantic_issues(spec, prefix)


def semantic_issues(spec: dict[str, Any], prefix: str = "spec") -> list[Issue]:
    issues: list[Issue] = []
    jobs: dict[str, Any] = spec["jobs"]
    workflow_inputs: dict[str, Any] = spec.get("inputs", {})
    default_type = spec.get("defaults", {}).get("resources", {}).get("instance-type")
    for name, declared in workflow_inputs.items():
        if declared["type"] == "dataset" and "with" in declared and dataset_ref(declared["with"]) is None:
            issues.append(Issue(f"{prefix}.inputs.{name}.with.ref", "a dataset input names its dataset in with.ref"))
    for name, job in jobs.items():
        path = f"{prefix}.jobs.{name}"
        for needed in job.get("needs", []):
            if needed not in jobs:
                issues.append(Issue(f"{path}.needs", f"needs unknown job {needed!r}"))
        uses: str = job["uses"]
        for key in REQUIRED_WITH.get(uses, ()):
            value = job.get("with", {}).get(key)
            if not isinstance(value, str) or not value:
                issues.append(Issue(f"{path}.with.{key}", f"{uses} needs with.{key} (a non-empty string)"))
        args = job.get("with", {}).get("args")
        if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
            issues.append(Issue(f"{path}.with.args", "must be a list of strings"))
        secret_key = job.get("with", {}).get("secret-access-key")
        if uses == "s3-download@v1" and isinstance(secret_key, str) and not secret_key.startswith("secret:"):
            issues.append(Issue(f"{path}.with.secret-access-key", "must be a secret reference, secret:NAME"))
        if uses == "s3-download@v1":
            issues += _s3_download_issues(job.get("with", {}), path)
        if not job.get("resources", {}).get("instance-type") and not default_type:
            issues.append(Issue(f"{path}.resources.instance-type", "no instance type here or in defaults"))
        env = job_env(spec, job)
        for hook in HOOKS:
            problem = _hook_issue(hook, env[hook]) if hook in env else None
            if problem is not None:
                issues.append(Issue(f"{path}.env.{hook}", problem))
        issues += _input_issues(spec, name, job, path)
        issues += _output_issues(job, path)
        if uses == CREATE_MODEL:
            issues += _create_model_issues(spec, name, job, path)
    if not issues:
        try:
            tuple(TopologicalSorter({n: j.get("needs", []) for n, j in jobs.items()}).static_order())
        except CycleError as error:
            issues.append(Issue(f"{prefix}.jobs", f"jobs need each other in a cycle: {' -> '.join(error.args[1])}"))
    return issues


def _s3_download_issues(with_: dict[str, Any], path: str) -> list[Issue]:
    """The docs' `url` is `s3://bucket/path/`; `endpoint` (a non-AWS bucket) is where the bucket is served."""
    issues = []
    url = with_.get("url")
    if isinstance(url, str) and url and (not url.startswith("s3://") or not url.removeprefix("s3://").split("/")[0]):
        issues.append(Issue(f"{path}.with.url", "must be s3://BUCKET/PATH"))
    endpoint = with_.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))):
        issues.append(Issue(f"{path}.with.endpoint", "must be an http:// or https:// URL"))
    return issues


def input_type(spec: dict[str, Any], value: Any) -> str | None:
    """The type of a job input: its own, or that of the workflow input or job output it refers to."""
    if isinstance(value, dict):
        kind = value.get("type")
        return kind if isinstance(kind, str) else None
    reference = parse_reference(value) if isinstance(value, str) else None
    if reference is None:
        return None
    if reference.job is None:
        declared = spec.get("inputs", {}).get(reference.name)
    else:
        declared = spec["jobs"].get(reference.job, {}).get("outputs", {}).get(reference.name)
    return declared.get("type") if isinstance(declared, dict) else None


def _input_issues(spec: dict[str, Any], name: str, job: dict[str, Any], path: str) -> list[Issue]:
    issues: list[Issue] = []
    for key, value in job.get("inputs", {}).items():
        where = f"{path}.inputs.{key}"
        if isinstance(value, dict):
            if value["type"] == "dataset" and dataset_ref(value["with"]) is None:
                issues.append(Issue(f"{where}.with.ref", "a dataset input names its dataset in with.ref"))
            if value["type"] == "string" and not isinstance(value["with"].get("value"), str):
                issues.append(Issue(f"{where}.with.value", "a string input gives its value in with.value"))
            continue
        reference = parse_reference(value)
        if reference is None:
            issues.append(Issue(where, f"must be workflow.inputs.<name> or <job>.outputs.<name>, got {value!r}"))
        elif reference.job is None:
            if reference.name not in spec.get("inputs", {}):
                issues.append(Issue(where, f"refers to workflow input {reference.name!r}, not declared in inputs"))
        elif reference.job not in spec["jobs"]:
            issues.append(Issue(where, f"refers to unknown job {reference.job!r}"))
        elif reference.job not in job.get("needs", []):
            issues.append(Issue(where, f"refers to job {reference.job!r}, which must be listed in needs"))
        elif reference.name not in spec["jobs"][reference.job].get("outputs", {}):
            issues.append(Issue(where, f"job {reference.job!r} declares no output {reference.name!r}"))
    return issues


def _output_issues(job: dict[str, Any], path: str) -> list[Issue]:
    issues: list[Issue] = []
    for key, output in job.get("outputs", {}).items():
        if output["type"] != "dataset":
            continue
        ref = dataset_ref(output.get("with"))
        if ref is None:
            issues.append(Issue(f"{path}.outputs.{key}.with.ref", "a dataset output names its dataset in with.ref"))
        elif ":" in ref:
            issues.append(
                Issue(f"{path}.outputs.{key}.with.ref", "names a dataset, not a version: each run writes a new version")
            )
    return issues


def _create_model_issues(spec: dict[str, Any], name: str, job: dict[str, Any], path: str) -> list[Issue]:
    issues: list[Issue] = []
    model_type = job.get("with", {}).get("type")
    if model_type is not None and model_type not in MODEL_TYPES:
        issues.append(Issue(f"{path}.with.type", f"must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}"))
    inputs: dict[str, Any] = job.get("inputs", {})
    if "model" not in inputs:
        issues.append(Issue(f"{path}.inputs.model", f"{CREATE_MODEL} needs an input named model (dataset or volume)"))
    elif input_type(spec, inputs["model"]) not in ("dataset", "volume", None):
        issues.append(Issue(f"{path}.inputs.model", "must be a dataset or a volume"))
    for key in sorted(set(inputs) - {"model"}):
        issues.append(Issue(f"{path}.inputs.{key}", f"{CREATE_MODEL} takes only the input model"))
    outputs: dict[str, Any] = job.get("outputs", {})
    if outputs.get("model-id", {}).get("type") != "string":
        issues.append(Issue(f"{path}.outputs.model-id", f"{CREATE_MODEL} outputs model-id, of type string"))
    for key in sorted(set(outputs) - {"model-id"}):
        issues.append(Issue(f"{path}.outputs.{key}", f"{CREATE_MODEL} has only the output model-id"))
    return issues


def _hook_issue(hook: str, raw: str) -> str | None:
    """Why a hook's value is refused, or None: whole exit codes 0-255, run seconds from 0 to MAX_RUN_SECONDS
    written as plain decimals (emulator.hooks; so never NaN or infinite)."""
    if hook == "EMULATOR_EXIT_CODE":
        return None if hooks.exit_code(raw) is not None else f"must be an exit code from 0 to 255, got {echo(raw)}"
    if hooks.seconds(raw) is None:
        return f"must be seconds from 0 to {MAX_RUN_SECONDS} (a plain decimal number), got {echo(raw)}"
    return None
