"""`import` of deployments: every deployment of a project asked for, through the kind's wire mapping (its latest
config, any shape, through ``inputs_from_config``), so the first `up` finds it equal to its entry and writes
nothing."""

from __future__ import annotations

from typing import Any

from ...client.models import Deployment
from ...lifecycles import secret_env
from ...lifecycles.policy import ADOPT
from ..importing import ImportContext, ImportReader, add_checked, env_entries, plain, unrepresented
from ..kind import ImportMapping
from .lifecycle import DeploymentLifecycle
from .table import SECRET_PREFIX
from .wire import build_config, inputs_from_config

_MISSING = object()


def _read(reader: ImportReader) -> list[Any]:
    found: list[Deployment] = []
    for scope in reader.projects:
        # projectDeployments-list: every deployment of the project, each with its latest spec (any config shape)
        listed = reader.api.client.paginate(f"/projects/{scope.project.id}/deployments")
        found += [d for d in map(Deployment.from_json, listed) if d.project_id == scope.project.id]
    return found


def _entry(deployment: Deployment, ctx: ImportContext) -> None:
    imported, keys = ctx.imported, ctx.keys["deployments"]
    what = f"deployment {deployment.name!r} ({deployment.id})"
    spec = deployment.latest_spec
    if spec is None or not spec.data:
        imported.leave_out("deployments", what, ["it has no spec yet"])
        return
    project_key, scope = ctx.project(deployment.project_id)
    config = spec.data
    inputs, revision = inputs_from_config(deployment.project_id, config, {})
    key = keys(str(inputs.get("name") or deployment.name), "deployment")
    notes: list[str] = []
    env, secrets = env_entries(
        inputs.pop("env", {}), SECRET_PREFIX, str(inputs["name"]), key, scope.secret_names, imported, notes
    )
    api_version = config.get("apiVersion")
    if api_version in ("v0alpha0", "v0alpha1"):
        notes.append(
            f"its live spec {spec.id} is apiVersion {api_version}: adopting keeps it; the next change to this "
            "deployment upserts it as apiVersion v1 (the same meaning)"
        )
    checked, problems = DeploymentLifecycle.check({**inputs, "env": plain(env), secret_env.FIELD: secrets})
    if problems:
        imported.leave_out("deployments", what, [f"{p.field}: {p.reason}" for p in problems])
        keys.taken.discard(key)
        return
    rebuilt = build_config(checked, revision)
    notes += unrepresented("config", _as_v1(config), rebuilt)
    defaults = DeploymentLifecycle.table.with_defaults({})
    fields: dict[str, Any] = {"project": project_key, ADOPT: deployment.id}
    fields.update({k: v for k, v in inputs.items() if k != "projectId" and defaults.get(k, _MISSING) != v})
    if env:
        fields["env"] = env
    add_checked(imported, "deployments", what, DeploymentLifecycle, fields, key, notes, skip_check=True)


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


IMPORT = ImportMapping(read=_read, entry=_entry)
