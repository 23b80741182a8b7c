"""Deployment: a model endpoint, created and updated through the v1 upsert. Pulumi id = deployment id."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from ..client import GradientApiError, NotFoundError
from ..client.models import Deployment, DeploymentRun
from . import secret_env
from .base import Created, Lifecycle, Observed, OperationFailedError
from .policy import FieldRule, FieldTable, Policy, Risk, waiting_rules

log = logging.getLogger("gradient_provider")

_STRING = {"type": "string", "minLength": 1}
_ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
_PROBE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "HTTP path to probe."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Port to probe."},
        "host": {"type": "string", "description": "Host header to send."},
        "headers": {
            "type": "array",
            "description": "Extra HTTP headers to send.",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "description": "Header name."},
                    "value": {"type": "string", "description": "Header value."},
                },
            },
        },
        "exec": {
            "type": "object",
            "required": ["command"],
            "additionalProperties": False,
            "description": "Run a command in the container instead of an HTTP request.",
            "properties": {
                "command": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string"},
                    "description": "Command and arguments; exit code 0 means healthy.",
                }
            },
        },
        "initialDelaySeconds": {"type": "integer", "minimum": 0, "description": "Seconds before the first probe."},
        "periodSeconds": {"type": "integer", "minimum": 1, "description": "Seconds between probes."},
        "timeoutSeconds": {"type": "integer", "minimum": 1, "description": "Seconds before a probe times out."},
        "failureThreshold": {"type": "integer", "minimum": 1, "description": "Failures in a row that count."},
    },
    "oneOf": [{"required": ["path"]}, {"required": ["exec"]}],
}
MODEL_MOUNT_PATH = "/opt/models"
KIND = "DEPLOYMENT"  # prefix of its project secrets' names

TABLE = FieldTable(
    kind="Deployment",
    fields={
        "projectId": FieldRule(
            Policy.REPLACE,
            Risk.DOWNTIME,
            _STRING,
            "Project that holds the deployment. Changing it creates a new deployment there and deletes this one.",
            required=True,
        ),
        "name": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {"type": "string", "minLength": 1, "maxLength": 128},
            "Deployment name, unique within its project.",
            required=True,
        ),
        "image": FieldRule(Policy.IN_PLACE, Risk.RESTART, _STRING, "Container image to serve.", required=True),
        "command": FieldRule(
            Policy.IN_PLACE,
            Risk.RESTART,
            {"type": "array", "items": {"type": "string"}},
            "Container command as a list of arguments; the image's default when absent.",
        ),
        "env": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {"type": "object", "propertyNames": {"pattern": _ENV_NAME}, "additionalProperties": {"type": "string"}},
            "Environment variables. A value `secret:NAME` refers to a Paperspace project secret.",
        ),
        "ports": FieldRule(
            Policy.IN_PLACE,
            Risk.RESTART,
            {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
            "Container ports to expose; the first one serves the endpoint.",
            default=[80],
        ),
        "machineType": FieldRule(
            Policy.IN_PLACE, Risk.RESTART, _STRING, "Machine type, e.g. C4 or A4000.", required=True
        ),
        "replicas": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {"type": "integer", "minimum": 0, "maximum": 100},
            "Number of replicas (the minimum when autoscaling).",
            default=1,
        ),
        "autoscaling": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {
                "type": "object",
                "required": ["maxReplicas", "metrics"],
                "additionalProperties": False,
                "properties": {
                    "enabled": {"type": "boolean", "description": "false keeps the settings but stops scaling."},
                    "maxReplicas": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Upper bound."},
                    "metrics": {
                        "type": "array",
                        "minItems": 1,
                        "description": "Targets to scale on; replicas are added when any is exceeded.",
                        "items": {
                            "type": "object",
                            "required": ["metric", "summary", "value"],
                            "additionalProperties": False,
                            "properties": {
                                "metric": {
                                    "enum": ["cpu", "memory", "requestDuration"],
                                    "description": "What to measure.",
                                },
                                "summary": {"enum": ["average"], "description": "How to summarise it."},
                                "value": {
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                    "description": "Target: percent for cpu and memory, seconds for requestDuration.",
                                },
                            },
                        },
                    },
                },
            },
            "Autoscaling between `replicas` and `maxReplicas` on cpu, memory or request duration.",
        ),
        "healthChecks": FieldRule(
            Policy.IN_PLACE,
            Risk.RESTART,
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "liveness": {**_PROBE, "description": "Restart a replica that fails it."},
                    "readiness": {**_PROBE, "description": "Send traffic only to replicas that pass it."},
                    "startup": {**_PROBE, "description": "Hold the other probes until it passes once."},
                },
            },
            "Liveness, readiness and startup probes (HTTP `path` or `exec` command).",
        ),
        "enabled": FieldRule(
            Policy.IN_PLACE,
            Risk.DOWNTIME,
            {"type": "boolean"},
            "false scales the deployment to zero (the endpoint stops serving).",
            default=True,
        ),
        "containerRegistry": FieldRule(
            Policy.IN_PLACE, Risk.RESTART, _STRING, "Name of a Paperspace container registry for a private image."
        ),
        "region": FieldRule(
            Policy.IN_PLACE, Risk.RESTART, _STRING, "Region to run in; Paperspace's default when absent."
        ),
        "modelId": FieldRule(
            Policy.IN_PLACE, Risk.RESTART, _STRING, f"Model to mount at {MODEL_MOUNT_PATH} (a model integration)."
        ),
        secret_env.FIELD: secret_env.field_rule(Policy.IN_PLACE, Risk.RESTART),
        **waiting_rules(
            ["ready", "applied", "none"],
            "every replica ready, the spec applied, or nothing",
            timeout_default=900,
            timeout_max=86400,
        ),
    },
    outputs={
        "deploymentId": "the Paperspace deployment id (also the resource id)",
        "endpoint": "the URL the deployment serves (`https://` and the host name Paperspace gives)",
        "specId": "id of the spec version now live",
        "readyReplicas": "replicas ready at the last observation",
        "status": "pending, applied, ready, disabled or failed",
        secret_env.REVISION_OUTPUT: "how many times the secret env values changed (rolls the replicas)",
        secret_env.RETIRED_OUTPUT: "project secrets no longer referred to, deleted once the new spec is ready",
    },
)

_LOCAL_ONLY = TABLE.by_policy(Policy.LOCAL_ONLY)


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
        env.update(secret_env.references(KIND, inputs["name"], inputs[secret_env.FIELD]))
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
    refs = secret_env.references(KIND, str(config.get("name")), known_secrets)
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


def observe(deployment: Deployment, runs: list[DeploymentRun]) -> tuple[str, int, str]:
    """(status, ready replicas, a sentence for logs and errors) from a deployment and its runs."""
    spec = deployment.latest_spec
    if spec is None:
        return "pending", 0, "no spec yet"
    if spec.error and not spec.external_applied:
        return "failed", 0, f"the spec was rejected: {spec.error}"
    if not spec.external_applied:
        return "pending", 0, "waiting for the spec to be applied"
    resources = spec.data.get("resources") or {}
    wanted = int(resources.get("replicas", 1)) if spec.data.get("enabled", True) else 0
    if wanted == 0:
        return "disabled", 0, "scaled to zero"
    run = runs[0] if runs else None
    ready = run.ready_replicas if run else 0
    failing = [i for i in run.instances if i.failed] if run else []
    if failing:
        detail = "; ".join(f"instance {i.id} {i.state}: {i.message or 'no message'}" for i in failing)
        return "failed", ready, detail
    if spec.dt_healthy:
        return "ready", ready, f"{ready}/{wanted} replicas ready"
    return "applied", ready, f"{ready}/{wanted} replicas ready"


class DeploymentLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        existing = self.api.find_deployment(inputs["projectId"], inputs["name"])
        previous: dict[str, Any] = {}
        if existing is not None:
            log.info("deployment %r: adopting the existing deployment %s of that name", inputs["name"], existing.id)
            live = existing.latest_spec.data if existing.latest_spec else {}
            previous[secret_env.REVISION_OUTPUT] = inputs_from_config(existing.project_id, live, {})[1]
        # Adopting: one more than the revision it runs, so a changed secret value restarts its replicas.
        revision = secret_env.next_revision(previous, inputs)
        synced = secret_env.sync(self.api, KIND, inputs["projectId"], {}, inputs)
        try:
            deployment_id = self.api.upsert_deployment(inputs["projectId"], build_config(inputs, revision))
        except Exception:
            self._forget_secrets(inputs, synced, adopted=existing is not None)
            raise
        try:
            return Created(deployment_id, self._settle(deployment_id, inputs, revision, []))
        except Exception as error:
            if existing is not None:
                raise
            # Pulumi records nothing for a failed create: remove what this create made, so nothing is orphaned.
            with contextlib.suppress(NotFoundError):
                self.api.delete_deployment(deployment_id)
            self._forget_secrets(inputs, synced, adopted=False)
            raise OperationFailedError(f"{error}\nThe new deployment {deployment_id} was deleted again.") from error

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        revision = secret_env.next_revision(olds, news)
        retired = list(olds.get(secret_env.RETIRED_OUTPUT) or [])
        if not self.diff(olds, news).touches_api:
            return {**olds, **news, secret_env.REVISION_OUTPUT: revision, secret_env.RETIRED_OUTPUT: retired}
        synced = secret_env.sync(self.api, KIND, news["projectId"], olds, news)
        try:
            self.api.upsert_deployment(news["projectId"], build_config(news, revision), deployment_id=ident)
            return self._settle(ident, news, revision, retired + synced.retired)
        except Exception:
            synced.undo(self.api)  # Pulumi keeps the old state: so does Paperspace, as far as secrets go
            raise

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            deployment = self.api.get_deployment(ident)
            runs = self.api.deployment_runs(ident)
        except NotFoundError:
            return None
        config = deployment.latest_spec.data if deployment.latest_spec else {}
        live, revision = inputs_from_config(deployment.project_id, config, state)
        inputs = self.table.with_defaults({**live, **{k: state[k] for k in _LOCAL_ONLY if k in state}})
        retired = list(state.get(secret_env.RETIRED_OUTPUT) or [])
        return Observed(ident, self._outputs(inputs, deployment, runs, revision, retired), inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        with contextlib.suppress(NotFoundError):
            self.api.delete_deployment(ident)
        secret_env.delete_all(self.api, KIND, state)

    def _forget_secrets(self, inputs: dict[str, Any], synced: secret_env.Sync, *, adopted: bool) -> None:
        with contextlib.suppress(GradientApiError):
            if adopted:
                synced.undo(self.api)
            else:
                secret_env.delete_all(self.api, KIND, inputs)

    def _settle(self, deployment_id: str, inputs: dict[str, Any], revision: int, retired: list[str]) -> dict[str, Any]:
        """Wait as the inputs ask, failing fast on errored instances; return every output. Retired secrets are
        deleted once the deployment is ready on the new spec (no old replica can need them any more)."""
        what = f"deployment {inputs['name']!r} ({deployment_id})"
        wait: str = inputs["wait"]

        def probe() -> tuple[bool, str, tuple[Deployment, list[DeploymentRun]]]:
            latest = (self.api.get_deployment(deployment_id), self.api.deployment_runs(deployment_id))
            status, _, detail = observe(*latest)
            if status == "failed" and wait != "none":  # fail fast: errored instances do not recover by waiting
                raise OperationFailedError(f"{what} failed: {detail}")
            if wait == "ready":
                done = status in ("ready", "disabled")
            elif wait == "applied":
                done = status != "pending"
            else:
                done = True
            return done, f"{status}: {detail}", latest

        deployment, runs = self.wait_for(what, probe, inputs["timeoutSeconds"])
        settled = observe(deployment, runs)[0] in ("ready", "disabled")
        kept = secret_env.retire(self.api, inputs["projectId"], retired, now=settled)
        return self._outputs(inputs, deployment, runs, revision, kept)

    @staticmethod
    def _outputs(
        inputs: dict[str, Any], deployment: Deployment, runs: list[DeploymentRun], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        status, ready, _ = observe(deployment, runs)
        return {
            **inputs,
            "deploymentId": deployment.id,
            "endpoint": deployment.url,
            "specId": deployment.latest_spec.id if deployment.latest_spec else None,
            "readyReplicas": ready,
            "status": status,
            secret_env.REVISION_OUTPUT: revision,
            secret_env.RETIRED_OUTPUT: retired,
        }
