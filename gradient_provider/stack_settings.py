"""The API settings of a stack for the commands that call Paperspace outside Pulumi (`logs`, `artifacts`,
`import`): the plain values of ``Pulumi.<stack>.yaml`` (e.g. `gradient:apiUrl`), then the environment. Secret
config is encrypted (only Pulumi can read it), so the key comes from PAPERSPACE_API_KEY."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .client.settings import ClientSettings, MissingApiKeyError


class StackSettingsError(Exception):
    """No usable API key: one line saying where to set it."""


def stack_settings(stack: str, root: Path) -> ClientSettings:
    config = stack_config(root / f"Pulumi.{stack}.yaml")
    settings = ClientSettings.resolve(lambda key: config.get(key), os.environ)
    try:
        settings.require_key()
    except MissingApiKeyError as error:
        raise StackSettingsError(f"{error} (here: the environment variable, as secret config is encrypted)") from None
    return settings


def stack_config(path: Path) -> dict[str, Any]:
    """Plain (not secure) values of a Pulumi stack file's config."""
    try:
        data = yaml.safe_load(path.read_text()) if path.exists() else None
    except (OSError, yaml.YAMLError):
        return {}
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        return {}
    return {str(k): v for k, v in config.items() if isinstance(v, (str, int, float))}


def pulumi_project_name(root: Path) -> str:
    """The Pulumi project's name (Pulumi.yaml `name`): the first part of every owner tag; empty when unreadable."""
    try:
        data = yaml.safe_load((root / "Pulumi.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return ""
    return str(data.get("name", "")) if isinstance(data, dict) else ""
