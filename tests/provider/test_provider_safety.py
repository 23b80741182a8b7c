"""What must hold for every dynamic provider: pickling by reference, credentials, secrets and concurrency."""

from __future__ import annotations

import base64
import pickle
from concurrent.futures import ThreadPoolExecutor

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from gradient_provider.resources import DeploymentProvider, ExperimentProvider, ProjectProvider
from tests.support.dynamic_server import ProviderCallError, dynamic_provider_server, provider_blob
from tests.support.emulator import running_emulator

from .conftest import provider_config

SECRET_KEY = "sk-live-9f8e7d6c5b4a"


@pytest.mark.parametrize("provider", [ProjectProvider, ExperimentProvider, DeploymentProvider])
def test_the_blob_is_a_class_reference_that_no_configuration_changes(provider: type) -> None:
    blob = provider_blob(provider)
    raw = base64.b64decode(blob)
    assert b"gradient_provider.resources" in raw and provider.__name__.encode() in raw
    assert len(raw) < 100, "a by-value pickle would carry bytecode; editing code would change __provider"
    configured = provider()
    configured.configure(ConfigureRequest(Config({"gradient:apiKey": SECRET_KEY}, "gradient-stacks")))
    assert serialize_provider(configured) == blob, "credentials must never reach the blob"
    assert SECRET_KEY.encode() not in pickle.dumps(configured)
    assert type(dill.loads(raw)) is provider


def test_the_api_key_appears_in_no_output_error_or_log() -> None:
    with running_emulator("--api-key", f"{SECRET_KEY}:team-x") as emulator, dynamic_provider_server() as server:
        server.configure(provider_config(emulator, key=SECRET_KEY), secret_keys=frozenset({"gradient:apiKey"}))
        seen: list[str] = []
        projects, deployments = provider_blob(ProjectProvider), provider_blob(DeploymentProvider)
        ident, state = server.create(projects, {"name": "P"})
        seen += [
            str(state),
            str(server.read(projects, ident, state)),
            str(server.update(projects, ident, state, {"name": "Q"})),
        ]
        inputs = {
            "projectId": ident,
            "name": "api",
            "image": "x",
            "machineType": "C4",
            "ports": [80],
            "replicas": 1,
            "enabled": True,
            "wait": "ready",
            "timeoutSeconds": 60,
            "env": {"EMULATOR_CRASH": "1"},
        }
        with pytest.raises(ProviderCallError) as failure:
            server.create(deployments, inputs)
        seen.append(failure.value.details)
        with pytest.raises(ProviderCallError) as failure:
            server.update(projects, "pnothere", {"name": "x"}, {"name": "y"})
        seen += [failure.value.details, server.stderr(), projects, deployments]
        for text in seen:
            assert SECRET_KEY not in text


def test_credentials_may_come_from_the_environment_instead_of_config() -> None:
    with running_emulator("--api-key", f"{SECRET_KEY}:team-x") as emulator:
        env = {"PAPERSPACE_API_URL": emulator.api_url, "PAPERSPACE_API_KEY": SECRET_KEY}
        with dynamic_provider_server(env) as server:
            server.configure({"gradient-stacks:unrelated": "x"})
            ident, _ = server.create(provider_blob(ProjectProvider), {"name": "from-env"})
            with emulator.client(SECRET_KEY) as api:
                assert api.get(f"/projects/{ident}").json()["name"] == "from-env"


def test_a_missing_key_is_a_clear_error_and_preview_still_works() -> None:
    with dynamic_provider_server() as server:
        server.configure({"gradient:apiUrl": "http://127.0.0.1:9/v1"})
        blob = provider_blob(ProjectProvider)
        assert server.check(blob, {}, {"name": "P"})[1] == []  # check and diff need no key
        assert server.diff(blob, "p1", {"name": "P"}, {"name": "P2"}).changes == "DIFF_SOME"
        with pytest.raises(ProviderCallError) as failure:
            server.create(blob, {"name": "P"})
        assert "no Paperspace API key" in failure.value.details and "gradient:apiKey" in failure.value.details


def test_unknown_values_in_preview_count_as_changes() -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    with dynamic_provider_server() as server:
        server.configure({})
        blob = provider_blob(DeploymentProvider)
        state = {"projectId": "p1", "name": "api", "image": "x", "machineType": "C4"}
        inputs, failures = server.check(blob, state, {**state, "projectId": unknown, "image": unknown})
        assert failures == [] and isinstance(inputs["projectId"], Unknown)  # still unknown for the engine
        answer = server.diff(blob, "d1", state, {**state, "projectId": unknown})
        assert answer.changes == "DIFF_SOME" and answer.replaces == ["projectId"]


def test_four_operations_at_once_share_one_provider_safely(emulator_url: str) -> None:
    from tests.support.emulator import DEV_KEY

    with dynamic_provider_server() as server:
        server.configure(
            {"gradient:apiUrl": emulator_url, "gradient:apiKey": DEV_KEY, "gradient:pollIntervalSeconds": "0.02"}
        )
        blob = provider_blob(ProjectProvider)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda i: server.create(blob, {"name": f"p{i}"}), range(8)))
        assert len({ident for ident, _ in results}) == 8
