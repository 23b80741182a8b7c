"""A thin base for the dynamic providers: Pulumi's calls in, the Pulumi-free lifecycles out.

Rules it keeps (see ../shared/docs/pulumi-dynamic-providers.md):
- no state survives pickling: ``__reduce__`` rebuilds a fresh instance, so the ``__provider`` blob is the
  class reference alone (stable across code edits) and credentials can never be pickled;
- credentials come from ``configure()`` (the full stack config) or the environment; the HTTP client is built
  lazily under a lock, because the server runs up to four operations at once on one instance;
- ``check`` and ``diff`` make no API call; ``diff`` ignores ``__provider`` and never answers "unknown";
- ``update`` returns every output; ``read`` returns inputs too, and ``ReadResult("", {})`` when gone.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from .client import ClientSettings, GradientApiError, GradientClient, MissingApiKeyError, PaperspaceApi
from .lifecycles.base import Lifecycle, OperationFailedError
from .lifecycles.policy import UNKNOWN
from .workspace import settings as workspace_settings

T = TypeVar("T")
_EXPECTED_FAILURES = (GradientApiError, OperationFailedError, MissingApiKeyError)


class GradientProviderError(Exception):
    """What Pulumi shows when an operation fails: the resource, the operation and the reason."""


def _declared(props: dict[str, Any]) -> dict[str, Any]:
    return {key: _known_or_marker(value) for key, value in props.items() if not key.startswith("__")}


def _known_or_marker(value: Any) -> Any:
    """Pulumi's ``Unknown`` objects (preview) become the engine's unknown-string marker, which the lifecycles
    understand without importing Pulumi and which the engine reads back as unknown; whole numbers become
    integers again."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)  # gRPC carries every number as a double: 1.0 was written 1, and the API wants 1
    if isinstance(value, dict):
        return {key: _known_or_marker(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known_or_marker(item) for item in value]
    return value


def _log_to_stderr() -> None:
    # Pulumi shows the provider process's stderr; progress of long waits goes there.
    logger = logging.getLogger("gradient_provider")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gradient: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class LifecycleProvider(ResourceProvider):
    lifecycle: ClassVar[type[Lifecycle]]

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._settings: ClientSettings | None = None
        self._api: PaperspaceApi | None = None

    def __reduce__(self) -> tuple[type[LifecycleProvider], tuple[()]]:
        return (type(self), ())

    def configure(self, req: ConfigureRequest) -> None:
        _log_to_stderr()
        with self._lock:
            self._settings = ClientSettings.resolve(req.config.get, os.environ)
            self._api = None
        # The bucket local workspaces are uploaded to (gradient:workspace*): one stack's config per process.
        workspace_settings.configure(workspace_settings.StorageSettings.resolve(req.config.get, os.environ))

    def _live(self) -> Lifecycle:
        with self._lock:
            settings = self._settings or ClientSettings.resolve(lambda _key: None, os.environ)
            if self._api is None:
                self._api = PaperspaceApi(GradientClient(settings))
            return self.lifecycle(self._api, settings.poll_seconds)

    def _run(self, operation: str, ident: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except _EXPECTED_FAILURES as error:
            where = f"{self.lifecycle.table.kind} {ident}" if ident else self.lifecycle.table.kind
            # `from None`: the cause is in the message; the chained httpx/tenacity frames would only bury it.
            raise GradientProviderError(f"{operation} {where}: {error}") from None

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, problems = self.lifecycle.check(_declared(news))
        return CheckResult(inputs, [CheckFailure(problem.field, problem.reason) for problem in problems])

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        found = self.lifecycle.diff(_declared(_olds), _declared(_news))
        return DiffResult(
            changes=found.has_changes, replaces=list(found.replaces), stables=[], delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _declared(props)
        created = self._run("create", repr(inputs.get("name", "")), lambda: self._live().create_or_adopt(inputs))
        return CreateResult(created.id, created.outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        observed = self._run("read", id_, lambda: self._live().read(id_, _declared(props)))
        if observed is None:
            return ReadResult("", {})
        return ReadResult(observed.id, observed.outputs, inputs=observed.inputs)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        outputs = self._run("update", _id, lambda: self._live().update(_id, _declared(_olds), _declared(_news)))
        return UpdateResult(outputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        self._run("delete", _id, lambda: self._live().delete(_id, _declared(_props)))
