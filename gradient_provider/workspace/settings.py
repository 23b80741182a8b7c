"""Where the workspace bucket is and which credentials open it: Pulumi config, read in the provider's configure.

Kept apart from ``storage`` so that reading settings never imports boto3 (a third of a second, which
`validate` and the program do not need).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CONFIG_BUCKET = "gradient:workspaceBucket"
CONFIG_ENDPOINT = "gradient:workspaceEndpoint"
CONFIG_REGION = "gradient:workspaceRegion"
CONFIG_ACCESS_KEY_ID = "gradient:workspaceAccessKeyId"
CONFIG_SECRET_ACCESS_KEY = "gradient:workspaceSecretAccessKey"


@dataclass(frozen=True, repr=False)
class StorageSettings:
    bucket: str | None = None
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __repr__(self) -> str:  # never the credentials, even in a traceback's locals
        return f"StorageSettings(bucket={self.bucket!r}, endpoint={self.endpoint!r}, region={self.region!r}, ...)"

    @classmethod
    def resolve(cls, config_get: Callable[[str], Any], environ: Mapping[str, str]) -> StorageSettings:
        """From Pulumi config, else the standard AWS variables. The endpoint and region are resolved here (not
        left to boto3) because the run's download job needs them too; credentials left out are boto3's to find
        (environment, profile) when the store is opened."""

        def pick(key: str, *env_keys: str) -> str | None:
            value = config_get(key)
            if value is None or value == "":
                value = next((environ[k] for k in env_keys if environ.get(k)), None)
            return None if value is None else str(value)

        endpoint = pick(CONFIG_ENDPOINT, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        return cls(
            bucket=pick(CONFIG_BUCKET),
            endpoint=endpoint.rstrip("/") if endpoint else None,
            region=pick(CONFIG_REGION, "AWS_REGION", "AWS_DEFAULT_REGION"),
            access_key_id=pick(CONFIG_ACCESS_KEY_ID),
            secret_access_key=pick(CONFIG_SECRET_ACCESS_KEY),
        )


# What the provider process was configured with (dynamic.py's configure): one stack's config per process.
_configured: StorageSettings | None = None
_lock = threading.Lock()


def configure(settings: StorageSettings) -> None:
    global _configured
    with _lock:
        _configured = settings


def configured() -> StorageSettings:
    """The configured settings; without a configure (a process that is no provider), the environment's."""
    with _lock:
        return _configured or StorageSettings.resolve(lambda _key: None, os.environ)
