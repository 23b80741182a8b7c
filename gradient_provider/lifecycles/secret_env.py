"""Secret environment variables: kept as Paperspace project secrets, referred to as ``secret:NAME`` in specs.

A stack file's `env: {VAR: {secret: KEY}}` reaches the provider as the input ``secretEnv: {VAR: <value>}`` (a
Pulumi secret, so encrypted in state). The value goes to Paperspace only as a project secret; deployment and
workflow specs, their history, logs and errors carry the reference ``secret:NAME`` and never the value.

A rotated value changes no spec by itself, so each resource counts its secret revisions (output
``secretsRevision``): a deployment carries the revision in an env var, so a rotation rolls its replicas; an
experiment's run key includes it, so a rotation starts a new run. The counter says nothing about the values.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client import GradientApiError, PaperspaceApi
from .policy import FieldRule, Policy, Risk

FIELD = "secretEnv"
REVISION_OUTPUT = "secretsRevision"
RETIRED_OUTPUT = "retiredSecrets"
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
    """The project secret of one variable of one resource. Readable (`DEPLOYMENT_API_HF_TOKEN_…`) and injective:
    a short hash of the exact kind, name and variable tells apart names that read alike (`api-v2`, `api_v2`).
    The hash is over names only, never values."""
    readable = re.sub(r"[^A-Z0-9_]", "_", f"{kind}_{resource_name}_{var}".upper())[:80]
    digest = hashlib.sha256(f"{kind}\0{resource_name}\0{var}".encode()).hexdigest()[:8].upper()
    return f"{readable}_{digest}"


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


@dataclass
class Sync:
    """What one sync did: undo it if the operation fails, retire what the new spec no longer refers to."""

    project_id: str
    retired: list[str]  # names the new spec no longer uses: delete once nothing old can refer to them
    previous: dict[str, str | None]  # name -> value before this sync (None: this sync made it)

    def undo(self, api: PaperspaceApi) -> None:
        """Best effort: put back what a failed operation changed, so Paperspace matches the kept state."""
        for name, value in sorted(self.previous.items()):
            with contextlib.suppress(GradientApiError):
                if value is None:
                    api.delete_secret(self.project_id, name)
                else:
                    api.put_secret(self.project_id, name, value)


def sync(api: PaperspaceApi, kind: str, project_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Sync:
    """Create or update the project secrets ``news`` needs."""
    old_env: Mapping[str, Any] = olds.get(FIELD) or {}
    new_env: Mapping[str, Any] = news.get(FIELD) or {}
    same_project = olds.get("projectId") == news.get("projectId")
    old_names = {secret_name(kind, str(olds.get("name")), var): str(value) for var, value in old_env.items()}
    new_names = {secret_name(kind, str(news["name"]), var): str(value) for var, value in new_env.items()}
    previous: dict[str, str | None] = {}
    for name, value in sorted(new_names.items()):
        if not same_project or old_names.get(name) != value:
            known = same_project and name in old_names
            created = api.put_secret(project_id, name, value)
            # An undo puts back a value it knows and deletes what this sync made; a secret that existed with a
            # value the state does not hold (an adopted object's) is left as set: a spec may refer to it.
            if known or created:
                previous[name] = old_names[name] if known else None
    # On a replacement (another project) the old resource's delete removes its own secrets.
    retired = sorted(set(old_names) - set(new_names)) if same_project else []
    return Sync(project_id, retired, previous)


def retire(api: PaperspaceApi, project_id: str, names: list[str], *, now: bool) -> list[str]:
    """Delete retired secrets when nothing live can refer to them any more (``now``); otherwise keep them listed
    (output ``retiredSecrets``) for the next update or the delete."""
    if not now:
        return sorted(set(names))
    for name in sorted(set(names)):
        api.delete_secret(project_id, name)
    return []


def delete_all(api: PaperspaceApi, kind: str, state: Mapping[str, Any]) -> None:
    project_id = str(state["projectId"])
    for var in sorted(state.get(FIELD) or {}):
        api.delete_secret(project_id, secret_name(kind, str(state["name"]), var))
    retire(api, project_id, list(state.get(RETIRED_OUTPUT) or []), now=True)
