"""The Deployment's wire mapping: provider inputs <-> the v1 deployment config (and back, for refresh)."""

from __future__ import annotations

from typing import Any

from ...lifecycles import secret_env
from .table import MODEL_MOUNT_PATH, SECRET_PREFIX


def build_config(inputs: dict[str, Any], secrets_revision: int = 0) -> dict[str, Any]:
    """The v1 deployment config (apiVersion v1) for the inputs. Secret env values appear as references only."""
    resources: dict[str, Any] = {
        "machineType": inputs["machineType"],
        "ports": [int(port) for port in inputs["ports"]],
        "replicas": int(inputs["replicas"]),
    }
    if inputs.get("autoscaling"):
        resources["autoscaling"] = inputs["autoscaling"]
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "name": inputs["name"],
        "image": inputs["image"],
        "enabled": inputs["enabled"],
        "resources": resources,
    }
    if inputs.get("command"):
        config["command"] = list(inputs["command"])
    env = dict(inputs.get("env") or {})
    if inputs.get(secret_env.FIELD):
        env.update(secret_env.references(SECRET_PREFIX, inputs["name"], inputs[secret_env.FIELD]))
        env[secret_env.REVISION_ENV] = str(secrets_revision)
    if env:
        config["env"] = [{"name": name, "value": value} for name, value in sorted(env.items())]
    for key in ("containerRegistry", "region", "healthChecks"):
        if inputs.get(key):
            config[key] = inputs[key]
    if inputs.get("modelId"):
        config["integrations"] = [{"type": "model", "id": inputs["modelId"], "name": "model", "path": MODEL_MOUNT_PATH}]
    return config


def inputs_from_config(project_id: str, config: dict[str, Any], state: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The inputs that would produce a live config (the inverse of ``build_config``) and its secrets revision.

    Reads the older config shapes too (v0alpha0: ``resources.instanceType``, one ``port``, ``models``), so that
    refresh and adoption of a deployment made elsewhere never fail on its shape. Secret values are not
    readable: a ``secret:NAME`` reference this resource made keeps the value from ``state``.
    """
    resources = config.get("resources") or {}
    old_shape = config.get("apiVersion") == "v0alpha0"
    ports = [config.get("port", 80)] if old_shape else resources.get("ports", [80])
    inputs: dict[str, Any] = {
        "projectId": project_id,
        "name": config.get("name"),
        "image": config.get("image"),
        "enabled": config.get("enabled", True),
        "machineType": resources.get("instanceType" if old_shape else "machineType"),
        "ports": [int(port) for port in ports],
        "replicas": int(resources.get("replicas", 1)),
    }
    env = {item["name"]: item["value"] for item in config.get("env") or [] if "name" in item}
    raw_revision = str(env.pop(secret_env.REVISION_ENV, state.get(secret_env.REVISION_OUTPUT) or 0))
    revision = int(raw_revision) if raw_revision.isdigit() else 0
    known_secrets = state.get(secret_env.FIELD) or {}
    refs = secret_env.references(SECRET_PREFIX, str(config.get("name")), known_secrets)
    secret_values = {var: known_secrets[var] for var, ref in refs.items() if env.get(var) == ref}
    for var in secret_values:
        env.pop(var)
    models = config.get("models") or [] if old_shape else config.get("integrations") or []
    optional = {
        "command": config.get("command"),
        "env": env,
        secret_env.FIELD: secret_values,
        "autoscaling": resources.get("autoscaling"),
        "containerRegistry": config.get("containerRegistry"),
        "region": config.get("region"),
        "healthChecks": config.get("healthChecks") or config.get("healthchecks"),
        "modelId": next((m.get("id") for m in models if old_shape or m.get("type") == "model"), None),
    }
    inputs.update({key: value for key, value in optional.items() if value})
    return inputs, revision
