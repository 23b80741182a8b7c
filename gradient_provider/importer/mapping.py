"""From what `import` read to stack-file entries, each with `adopt: <id>`, through the kinds' own wire mappings
(a deployment's latest config through ``inputs_from_config``, any shape; a workflow's latest run spec through
``inputs_from_spec``), so the first `up` finds each object equal to its entry and changes nothing.

What a stack file cannot say is reported, never guessed:
- a part of a live config or spec the wire mapping does not carry is a note (adopting keeps it; the next change
  of that resource writes the config or spec without it, or in the v1 shape for an old deployment config);
- an entry that would not be valid (a workflow of another shape, a dataset no entry stands for, a credential-
  looking literal where no `{secret: KEY}` can stand) is left out, with the reason, as comments.

Secrets (v1 never returns a value, and `import` never asks): an env value `secret:NAME` naming the project
secret the provider itself keeps for that variable (``secret_env.secret_name``: kind, resource name, variable)
becomes a `{secret: KEY}` placeholder, so the stack keeps managing it: set KEY to the value before `up`, which
writes it and rolls the resource once (a deployment restarts, an experiment runs), since the value it had cannot
be compared. Any other `secret:NAME` is a project secret made elsewhere and stays as written. A literal that
looks like a credential is not written: it becomes a placeholder too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..client.models import Deployment
from ..kinds.dataset.lifecycle import DatasetLifecycle
from ..kinds.deployment.lifecycle import DeploymentLifecycle
from ..kinds.deployment.table import SECRET_PREFIX as DEPLOYMENT_SECRETS
from ..kinds.deployment.wire import build_config, inputs_from_config
from ..kinds.experiment.jobs import dataset_keys
from ..kinds.experiment.lifecycle import ExperimentLifecycle
from ..kinds.experiment.table import RUN_KEY_ENV
from ..kinds.experiment.table import SECRET_PREFIX as EXPERIMENT_SECRETS
from ..kinds.experiment.wire import build_spec, inputs_from_spec
from ..lifecycles import secret_env
from ..lifecycles.base import Lifecycle, OperationFailedError
from ..lifecycles.policy import ADOPT
from ..review.credentials import findings
from ..stack_schema import KEY_PATTERN
from .read import ProjectSnapshot, TeamSnapshot, WorkflowSnapshot

MAX_NOTES = 12  # differences listed per entry; the rest are counted
_MISSING = object()


@dataclass
class Entry:
    key: str
    fields: dict[str, Any]  # as the stack file writes them (references by key, `{secret: KEY}`)
    notes: list[str] = field(default_factory=list)  # written as comments above the entry


@dataclass
class Imported:
    sections: dict[str, list[Entry]] = field(default_factory=dict)
    left_out: dict[str, list[str]] = field(default_factory=dict)  # section -> why each object was left out
    secret_keys: dict[str, str] = field(default_factory=dict)  # secret config key -> what it stands for
    notes: list[str] = field(default_factory=list)  # about the whole file

    def add(self, section: str, entry: Entry) -> None:
        self.sections.setdefault(section, []).append(entry)

    def leave_out(self, section: str, what: str, reasons: list[str]) -> None:
        self.left_out.setdefault(section, []).append(f"{what}: not imported: {'; '.join(reasons)}")


class Keys:
    """Stack keys from Paperspace names: a letter, then letters, digits, `_` and `-`; unique in a section."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, name: str, fallback: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:60] or fallback
        if not re.match(KEY_PATTERN, base):
            base = f"{fallback}-{base}"
        key, number = base, 1
        while key in self.taken:
            number += 1
            key = f"{base}-{number}"
        self.taken.add(key)
        return key


def import_team(team: TeamSnapshot) -> Imported:
    imported = Imported()
    project_keys, dataset_keys_by_id = Keys(), {}
    keyed_datasets = Keys()
    for dataset in team.datasets:
        key = keyed_datasets(dataset.name, "dataset")
        dataset_keys_by_id[dataset.id] = key
        fields: dict[str, Any] = {"name": dataset.name, ADOPT: dataset.id}
        if dataset.description:
            fields["description"] = dataset.description
        if dataset.storage_provider_id:
            fields["storageProviderId"] = dataset.storage_provider_id
        _add_checked(imported, "datasets", f"dataset {dataset.name!r} ({dataset.id})", DatasetLifecycle, fields, key)
    for workflow_name, ref in team.unresolved:
        imported.notes.append(
            f"workflow {workflow_name!r} names dataset {ref!r}, which is no dataset of this team: kept as written"
        )
    experiment_keys, deployment_keys = Keys(), Keys()
    for snapshot in team.projects:
        project_key = project_keys(snapshot.project.name, "project")
        entry = Entry(project_key, {"name": snapshot.project.name, ADOPT: snapshot.project.id})
        if snapshot.secret_names:
            entry.notes.append(
                "project secrets (names only; values are never read): " + ", ".join(snapshot.secret_names)
            )
        imported.add("projects", entry)
        for workflow in snapshot.workflows:
            _experiment(imported, snapshot, project_key, workflow, dataset_keys_by_id, experiment_keys)
        for deployment in snapshot.deployments:
            _deployment(imported, snapshot, project_key, deployment, deployment_keys)
    return imported


# -- deployments -------------------------------------------------------------------------------------------


def _deployment(
    imported: Imported, snapshot: ProjectSnapshot, project_key: str, deployment: Deployment, keys: Keys
) -> None:
    what = f"deployment {deployment.name!r} ({deployment.id})"
    spec = deployment.latest_spec
    if spec is None or not spec.data:
        imported.leave_out("deployments", what, ["it has no spec yet"])
        return
    config = spec.data
    inputs, revision = inputs_from_config(snapshot.project.id, config, {})
    key = keys(str(inputs.get("name") or deployment.name), "deployment")
    notes: list[str] = []
    env, secrets = _env(inputs.pop("env", {}), DEPLOYMENT_SECRETS, str(inputs["name"]), key, snapshot, imported, notes)
    api_version = config.get("apiVersion")
    if api_version in ("v0alpha0", "v0alpha1"):
        notes.append(
            f"its live spec {spec.id} is apiVersion {api_version}: adopting keeps it; the next change to this "
            "deployment upserts it as apiVersion v1 (the same meaning)"
        )
    checked, problems = DeploymentLifecycle.check({**inputs, "env": _plain(env), secret_env.FIELD: secrets})
    if problems:
        imported.leave_out("deployments", what, [f"{p.field}: {p.reason}" for p in problems])
        keys.taken.discard(key)
        return
    rebuilt = build_config(checked, revision)
    notes += _unrepresented("config", _as_v1(config), rebuilt)
    defaults = DeploymentLifecycle.table.with_defaults({})
    fields: dict[str, Any] = {"project": project_key, ADOPT: deployment.id}
    fields.update({k: v for k, v in inputs.items() if k != "projectId" and defaults.get(k, _MISSING) != v})
    if env:
        fields["env"] = env
    _add_checked(imported, "deployments", what, DeploymentLifecycle, fields, key, notes, skip_check=True)


def _as_v1(config: dict[str, Any]) -> dict[str, Any]:
    """An older config shape written as v1 says it (for comparing with what the wire mapping writes)."""
    config = dict(config)
    if config.get("apiVersion") == "v0alpha0":
        resources = dict(config.pop("resources", None) or {})
        machine = resources.pop("instanceType", None)
        config["resources"] = {"machineType": machine, "ports": [config.pop("port", 80)], **resources}
        models = config.pop("models", None) or []
        if models:
            config["integrations"] = [
                {"type": "model", "id": m.get("id"), "name": "model", "path": m.get("path", "/opt/models")}
                for m in models
            ]
    if "healthchecks" in config:  # v0alpha1's spelling
        config.setdefault("healthChecks", config.pop("healthchecks"))
    config.pop("apiVersion", None)
    return config


# -- experiments -------------------------------------------------------------------------------------------


def _experiment(
    imported: Imported,
    snapshot: ProjectSnapshot,
    project_key: str,
    found: WorkflowSnapshot,
    dataset_keys_by_id: dict[str, str],
    keys: Keys,
) -> None:
    workflow = found.workflow
    what = f"workflow {workflow.name!r} ({workflow.id})"
    if not found.spec.get("jobs"):
        imported.leave_out("experiments", what, ["it has no run and no spec to read its jobs from"])
        return
    ids_by_key = {key: ident for ident, key in dataset_keys_by_id.items()}
    inputs = inputs_from_spec(workflow.name, found.spec, {"projectId": snapshot.project.id, "datasetIds": ids_by_key})
    key = keys(workflow.name, "experiment")
    notes: list[str] = []
    env, secrets = _env(inputs.pop("env", {}), EXPERIMENT_SECRETS, workflow.name, key, snapshot, imported, notes)
    named = [target for _, target in dataset_keys(inputs.get("jobs"))] if inputs.get("jobs") else []
    missing = sorted({target for target in named if target not in ids_by_key})
    if missing:
        imported.leave_out("experiments", what, [f"its jobs write to datasets it names by id: {', '.join(missing)}"])
        keys.taken.discard(key)
        return
    checked, problems = ExperimentLifecycle.check({**inputs, "env": _plain(env), secret_env.FIELD: secrets})
    if problems:
        imported.leave_out("experiments", what, [f"{p.field}: {p.reason}" for p in problems])
        keys.taken.discard(key)
        return
    try:
        rebuilt = build_spec(checked)
    except OperationFailedError as error:
        imported.leave_out("experiments", what, [str(error)])
        keys.taken.discard(key)
        return
    notes += _unrepresented("spec", _without_run_key(found.spec), _without_run_key(rebuilt))
    if found.latest_phase in ("Failed", "Error", "Canceled"):
        notes.append(
            f"its latest run ({found.runs}) ended {found.latest_phase}; adopting starts no run unless the run "
            "fields differ (set `rerun` to start one)"
        )
    if inputs.get("workspaceHash") and not inputs.get("workspace"):
        # a local workspace: its directory is on someone's machine, not in Paperspace
        imported.leave_out(
            "experiments",
            what,
            ["its workspace is a local directory (uploaded archive); declare it by hand with `workspace: {path: ...}`"],
        )
        keys.taken.discard(key)
        return
    fields: dict[str, Any] = {"project": project_key, ADOPT: workflow.id}
    # provider-only inputs (the dataset ids, a workspace hash) are the program's to set, never the file's
    provider_only = {name for name, rule in ExperimentLifecycle.table.fields.items() if rule.provider_only}
    fields.update({k: v for k, v in inputs.items() if k not in provider_only})
    if env:
        fields["env"] = env
    _add_checked(imported, "experiments", what, ExperimentLifecycle, fields, key, notes, skip_check=True)


def _without_run_key(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec without the run key the provider stamps on each run (it identifies a run; it means nothing)."""
    defaults = dict(spec.get("defaults") or {})
    env = {k: v for k, v in (defaults.get("env") or {}).items() if k != RUN_KEY_ENV}
    if env:
        defaults["env"] = env
    else:
        defaults.pop("env", None)
    stripped = {k: v for k, v in spec.items() if k != "defaults"}
    return {**stripped, "defaults": defaults} if defaults else stripped


# -- shared ------------------------------------------------------------------------------------------------


def _env(
    env: dict[str, str],
    prefix: str,
    resource_name: str,
    key: str,
    snapshot: ProjectSnapshot,
    imported: Imported,
    notes: list[str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stack file's env (values, or `{secret: KEY}` placeholders) and the provider's secret env for checking
    (placeholder values: the real ones are never read)."""
    written: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    credential_like = {finding.path[-1] for finding in findings({"env": env})}
    for var, value in sorted(env.items()):
        made_here = value == f"secret:{secret_env.secret_name(prefix, resource_name, var)}"
        if made_here or var in credential_like:
            config_key = _config_key(key, var)
            written[var] = {"secret": config_key}
            secrets[var] = "placeholder"
            why = "the project secret the provider keeps for it" if made_here else "a credential-looking literal"
            imported.secret_keys[config_key] = f"{key}.env.{var} ({why})"
            if not made_here:
                notes.append(f"env.{var} held what looks like a credential: not written; set `{config_key}` to it")
            continue
        written[var] = value
        name = value.removeprefix("secret:") if value.startswith("secret:") else None
        if name is not None and name not in snapshot.secret_names:
            notes.append(f"env.{var} refers to project secret {name!r}, which the project does not have")
    return written, secrets


def _plain(env: dict[str, Any]) -> dict[str, str]:
    return {var: value for var, value in env.items() if isinstance(value, str)}


def _config_key(entry_key: str, var: str) -> str:
    """A secret config key for one variable of one entry: `api` and `HF_TOKEN` -> `apiHfToken`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", f"{entry_key} {var}") if w]
    first, rest = words[0], words[1:]  # the entry key starts with a letter
    return first[0].lower() + first[1:] + "".join(w[:1].upper() + w[1:].lower() for w in rest)


def _unrepresented(root: str, live: Any, rebuilt: Any) -> list[str]:
    """Parts of the live config or spec that what the entry writes would not carry (by path)."""
    lost = _lost(live, rebuilt, root)
    if not lost:
        return []
    shown = ", ".join(lost[:MAX_NOTES]) + (f", and {len(lost) - MAX_NOTES} more" if len(lost) > MAX_NOTES else "")
    return [
        f"not represented in the stack file: {shown}. Adopting keeps them; the next change of this resource "
        "writes its config without them (or as the stack file says)"
    ]


def _lost(live: Any, rebuilt: Any, path: str) -> list[str]:
    if live == rebuilt or live is None:
        return []
    if isinstance(live, dict) and isinstance(rebuilt, dict):
        if path.endswith(".env") or path == "config.env":
            return [f"{path}.{k}" for k, v in live.items() if rebuilt.get(k) != v]
        return [p for k, v in live.items() for p in _lost(v, rebuilt.get(k, _MISSING), f"{path}.{k}")]
    if isinstance(live, list) and isinstance(rebuilt, list):
        if path.endswith(".env") and all(isinstance(item, dict) for item in live + rebuilt):  # [{name, value}]
            as_map = {str(i.get("name")): i.get("value") for i in rebuilt}
            return [f"{path}.{i.get('name')}" for i in live if as_map.get(str(i.get("name"))) != i.get("value")]
        if all(isinstance(item, dict) for item in live):
            return [f"{path}[{index}]" for index, item in enumerate(live) if item not in rebuilt]
    return [path]


def _add_checked(
    imported: Imported,
    section: str,
    what: str,
    lifecycle: type[Lifecycle],
    fields: dict[str, Any],
    key: str,
    notes: list[str] | None = None,
    *,
    skip_check: bool = False,
) -> None:
    """Add an entry; one whose inputs the kind refuses, or that holds a credential-looking literal no
    placeholder can stand for, is left out with the reason."""
    if not skip_check:
        _, problems = lifecycle.check(fields)
        if problems:
            imported.leave_out(section, what, [f"{p.field}: {p.reason}" for p in problems])
            return
    leaks = [".".join(map(str, finding.path)) for finding in findings(fields)]
    if leaks:
        imported.leave_out(
            section, what, [f"{', '.join(leaks)} looks like a credential, which a stack file must not hold"]
        )
        return
    imported.add(section, Entry(key, fields, notes or []))
