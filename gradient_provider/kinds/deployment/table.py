"""The Deployment's field-policy table: every input, what a change to it does, and its outputs."""

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
    wait_in_stack_rule,
    waiting_rules,
)

_STRING = {"type": "string", "minLength": 1}
_ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
_PROBE_TIMINGS = {
    "initialDelaySeconds": {"type": "integer", "minimum": 0, "description": "Seconds before the first probe."},
    "periodSeconds": {"type": "integer", "minimum": 1, "description": "Seconds between probes."},
    "timeoutSeconds": {"type": "integer", "minimum": 1, "description": "Seconds before a probe times out."},
    "failureThreshold": {"type": "integer", "minimum": 1, "description": "Failures in a row that count."},
}
# The two probe shapes of v1 (DeploymentHealthCheckProbe, paperspace-v1-openapi.ts): an HTTP probe (path, port,
# host, headers) or an exec probe (exec only); both take the timings.
_HTTP_PROBE = {
    "type": "object",
    "required": ["path"],
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
        **_PROBE_TIMINGS,
    },
}
_EXEC_PROBE = {
    "type": "object",
    "required": ["exec"],
    "additionalProperties": False,
    "properties": {
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
        **_PROBE_TIMINGS,
    },
}
_PROBE = {
    "oneOf": [_HTTP_PROBE, _EXEC_PROBE],
    "x-expected": "an HTTP probe (path, with port, host, headers) or an exec probe (exec), each with timings",
}
MODEL_MOUNT_PATH = "/opt/models"
SECRET_PREFIX = "DEPLOYMENT"  # prefix of its project secrets' names

TABLE = FieldTable(
    kind="Deployment",
    fields={
        "projectId": project_rule(
            Risk.DOWNTIME,
            "Project that holds the deployment. Changing it creates a new deployment there and deletes this one.",
        ),
        "name": name_rule(Policy.IN_PLACE, Risk.SAFE, "Deployment name, unique within its project."),
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
            secret_values=True,
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
            # Turning it off stops serving; turning it on starts serving again: replicas start, nothing stops.
            risk_of=lambda old, new: Risk.DOWNTIME if old is not False and new is False else Risk.RESTART,
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
        WAIT_IN_STACK: wait_in_stack_rule(),
        "rollback": FieldRule(
            Policy.LOCAL_ONLY,
            Risk.SAFE,
            {"type": "boolean"},
            "When an update's new spec fails (instances failing, or `timeoutSeconds` passing), apply the spec that "
            "was ready before the update again and wait until it is ready; the update still fails, saying so. Only a "
            "deployment that was ready before the update is rolled back. false leaves the failed spec in place.",
            default=True,
        ),
        ADOPT: adopt_rule("deployment"),
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
