"""Secret environment variables: kept as Paperspace project secrets, referred to as ``secret:NAME`` in specs.

A stack file's `env: {VAR: {secret: KEY}}` reaches the provider as the input ``secretEnv: {VAR: <value>}`` (a
Pulumi secret, so encrypted in state). The value goes to Paperspace only as a project secret; deployment and
workflow specs, their history, logs and errors carry the reference ``secret:NAME`` and never the value.

A rotated value changes no spec by itself, so each resource counts its secret revisions (output
``secretsRevision``): a deployment carries the revision in an env var, so a rotation rolls its replicas; an
experiment's run key includes it, so a rotation starts a new run. The counter says nothing about the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..client import PaperspaceApi
from .policy import FieldRule, Policy, Risk

FIELD = "secretEnv"
REVISION_OUTPUT = "secretsRevision"
REVISION_ENV = "GRADIENT_STACKS_SECRETS_REVISION"
_ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"


def field_rule(policy: Policy, risk: Risk) -> FieldRule:
    return FieldRule(
        policy,
        risk,
        {"type": "object", "propertyNames": {"pattern": _ENV_NAME}, "additionalProperties": {"type": "string"}},
        "Environment variables from secret Pulumi config (`env: {VAR: {secret: KEY}}` in the stack file), stored as "
        "Paperspace project secrets and referred to as `secret:NAME`.",
        provider_only=True,
    )


def secret_name(kind: str, resource_name: str, var: str) -> str:
    """The project secret of one variable of one resource: unique per kind and name within the project."""
    return re.sub(r"[^A-Z0-9_]", "_", f"{kind}_{resource_name}_{var}".upper())


def references(kind: str, resource_name: str, secret_env: Mapping[str, Any]) -> dict[str, str]:
    return {var: f"secret:{secret_name(kind, resource_name, var)}" for var in sorted(secret_env)}


def next_revision(olds: Mapping[str, Any], news: Mapping[str, Any]) -> int:
    """The revision for ``news``: the old one, plus one when any secret value or name changed."""
    old_revision = int(olds.get(REVISION_OUTPUT) or 0)
    if not news.get(FIELD):
        return old_revision
    if not olds or (olds.get(FIELD) or {}) != news.get(FIELD):
        return old_revision + 1
    return old_revision


def sync(api: PaperspaceApi, kind: str, project_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Create or update the project secrets ``news`` needs; return the names of those it no longer uses
    (to delete once the spec that referred to them is gone)."""
    old_env: Mapping[str, Any] = olds.get(FIELD) or {}
    new_env: Mapping[str, Any] = news.get(FIELD) or {}
    same_project = olds.get("projectId") == news.get("projectId")
    old_names = {secret_name(kind, str(olds.get("name")), var): value for var, value in old_env.items()}
    new_names = {secret_name(kind, str(news["name"]), var): value for var, value in new_env.items()}
    for name, value in sorted(new_names.items()):
        if not same_project or old_names.get(name) != value:
            api.put_secret(project_id, name, str(value))
    if not same_project:
        return []  # a replacement: the old resource's delete removes its own secrets
    return sorted(set(old_names) - set(new_names))


def delete_all(api: PaperspaceApi, kind: str, state: Mapping[str, Any]) -> None:
    for var in sorted(state.get(FIELD) or {}):
        api.delete_secret(str(state["projectId"]), secret_name(kind, str(state["name"]), var))
