from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gradient_provider.dynamic import LifecycleProvider
from gradient_provider.resources import DatasetProvider, DeploymentProvider, ExperimentProvider, ProjectProvider
from tests.support.dynamic_server import DiffAnswer, DynamicProviderServer, dynamic_provider_server, provider_blob
from tests.support.emulator import DEV_KEY, EmulatorProcess

POLL_SECONDS = "0.02"


def provider_config(emulator: EmulatorProcess, key: str = DEV_KEY) -> dict[str, str]:
    return {
        "gradient:apiUrl": emulator.api_url,
        "gradient:apiKey": key,
        "gradient:pollIntervalSeconds": POLL_SECONDS,
        "gradient-stacks:unrelated": "a project key the provider ignores",
    }


@pytest.fixture(scope="session")
def provider_server(emulator: EmulatorProcess) -> Iterator[DynamicProviderServer]:
    """The real pulumi.dynamic server, configured like the engine does, with the API key as secret config."""
    with dynamic_provider_server() as server:
        server.configure(provider_config(emulator), secret_keys=frozenset({"gradient:apiKey"}))
        yield server


@dataclass
class Kind:
    """One resource kind driven through the gRPC server, the way the engine drives it."""

    server: DynamicProviderServer
    blob: str

    def check(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
        inputs, failures = self.server.check(self.blob, olds or {}, news)
        assert failures == [], failures
        return {k: v for k, v in inputs.items() if k != "__provider"}

    def failures(self, news: dict[str, Any]) -> list[tuple[str, str]]:
        return self.server.check(self.blob, {}, news)[1]

    def create(self, news: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ident, outputs = self.server.create(self.blob, self.check(news))
        return ident, _declared(outputs)

    def diff(self, ident: str, state: dict[str, Any], news: dict[str, Any]) -> DiffAnswer:
        return self.server.diff(self.blob, ident, state, self.check(news, state))

    def update(self, ident: str, state: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return _declared(self.server.update(self.blob, ident, state, self.check(news, state)))

    def read(self, ident: str, state: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        new_id, outputs, inputs = self.server.read(self.blob, ident, state)
        return new_id, _declared(outputs), _declared(inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        self.server.delete(self.blob, ident, state)


def _declared(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}


def _kind_fixture(provider: type[LifecycleProvider]) -> Any:
    """A fixture for one kind's provider, on an emptied emulator (one factory: the kinds' fixtures are alike)."""

    @pytest.fixture
    def fixture(provider_server: DynamicProviderServer, emulator: EmulatorProcess) -> Kind:
        emulator.reset()
        return Kind(provider_server, provider_blob(provider))

    return fixture


projects = _kind_fixture(ProjectProvider)
deployments = _kind_fixture(DeploymentProvider)
experiments = _kind_fixture(ExperimentProvider)
datasets = _kind_fixture(DatasetProvider)


@pytest.fixture
def project_id(provider_server: DynamicProviderServer, projects: Kind) -> str:
    ident, _ = projects.create({"name": "Research"})
    return ident


@pytest.fixture
def api(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    """Direct HTTP access to the emulator, for out-of-band edits and for checking what really exists."""
    with emulator.client() as client:
        yield client


def request_count(emulator: EmulatorProcess) -> int:
    total: int = emulator.stats()["total"]
    return total


def write_count(emulator: EmulatorProcess) -> int:
    writes: int = emulator.stats()["writes"]
    return writes
