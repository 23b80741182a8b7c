"""The client against the published Paperspace v1 contract (tests/contract/openapi, from the OpenAPI).

- Every call the client makes, against the emulator process, is matched to a documented operation; its
  query, body and response validate against that operation's schemas. An undocumented endpoint fails.
- The client parses the smallest responses the contract allows (required fields only; nullable ones null).
- The request bodies built from the repository's stack files validate.
- One test prints the endpoints the client uses, with their operation and source line (coverage 100 %).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_provider.client import (
    ClientSettings,
    GradientClient,
    NotFoundError,
    PaperspaceApi,
    RetryPolicy,
)
from gradient_provider.kinds.deployment.table import TABLE as DEPLOYMENT_TABLE
from gradient_provider.kinds.deployment.wire import build_config
from gradient_provider.kinds.experiment.table import TABLE as EXPERIMENT_TABLE
from gradient_provider.kinds.experiment.wire import build_spec
from gradient_provider.stack import SecretRef, load_stack
from tests.support.contract import Exchange, RecordingTransport, by_name, minimal, operation_for
from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess

API_METHODS = sorted(
    name for name, member in inspect.getmembers(PaperspaceApi, inspect.isfunction) if not name.startswith("_")
)


SECRET_CANARY = "canary-secret-7f3a91"


class Counting:
    """The API, counting which of its methods were called."""

    def __init__(self, api: PaperspaceApi) -> None:
        self.api = api
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.api, name)
        self.called.add(name)
        return method  # type: ignore[no-any-return]


@pytest.fixture
def recorded(emulator: EmulatorProcess) -> Iterator[tuple[Counting, RecordingTransport]]:
    emulator.reset()
    transport = RecordingTransport()
    client = GradientClient(
        ClientSettings(emulator.api_url, DEV_KEY), retry=RetryPolicy(max_attempts=1), transport=transport
    )
    yield Counting(PaperspaceApi(client)), transport
    client.close()


def _deployment_inputs(project_id: str) -> dict[str, Any]:
    return DEPLOYMENT_TABLE.with_defaults(
        {
            "projectId": project_id,
            "name": "api",
            "image": "paperspace/fastapi-deployment:latest",
            "machineType": "C4",
            "ports": [8000],
            "command": ["uvicorn", "app:app"],
            "env": {"MODE": "contract"},
            "secretEnv": {"TOKEN": "s3cret-value"},
            "healthChecks": {"readiness": {"path": "/healthz", "port": 8000}},
        }
    )


def _experiment_inputs(project_id: str, dataset_ref: str | None = None) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "projectId": project_id,
        "name": "train",
        "image": "pytorch/pytorch:2.3.0",
        "command": "python train.py",
        "machineType": "A4000",
        "env": {"EPOCHS": "1"},
        "workspace": {"url": "https://github.com/acme/resnet-training.git", "ref": "main"},
        "model": {"name": "resnet50", "path": "/outputs/model"},
    }
    if dataset_ref:
        inputs["datasets"] = [{"name": "images", "ref": dataset_ref}]
    return EXPERIMENT_TABLE.with_defaults(inputs)


def exercise(api: Counting, dataset_id: str | None = None) -> None:
    """Every API method once, in an order that makes each call meaningful."""
    project = api.create_project("Contract")
    api.get_project(project.id)
    api.list_projects()
    api.rename_project(project.id, "Contract (renamed)")
    api.tag_project(project.id, "gradient-stacks-contract")
    assert api.project_tags(project.id) == ["gradient-stacks-contract"]
    api.put_secret(project.id, "DEPLOYMENT_API_TOKEN", "first")  # made
    api.put_secret(project.id, "DEPLOYMENT_API_TOKEN", "second")  # changed
    deployment_id = api.upsert_deployment(project.id, build_config(_deployment_inputs(project.id), 1))
    api.get_deployment(deployment_id)
    assert api.find_deployment(project.id, "api") is not None
    assert [d.id for d in api.project_deployments(project.id)] == [deployment_id]
    api.deployment_runs(deployment_id)
    spec = build_spec(_experiment_inputs(project.id, dataset_id))
    workflow = api.create_workflow(project.id, "train", spec)
    assert [w.id for w in api.list_workflows(project.id)] == [workflow.id]
    api.get_workflow(workflow.id)
    run = api.start_run(workflow.id, spec)
    assert [r.number for r in api.list_runs(workflow.id)] == [run.number]
    api.get_run(workflow.id, run.number)
    api.cancel_run(workflow.id, run.number)
    api.run_logs(workflow.id, run)
    api.list_models(project.id)
    made = api.create_dataset("contract-data", "made by the contract test", None)
    api.get_dataset(made.id)
    assert made.id in [d.id for d in api.list_datasets()]
    updated = api.update_dataset(made.id, "contract-data", "described")
    assert api.find_dataset("contract-data") == updated and updated.description == "described"
    if dataset_id is not None:
        ident, version = dataset_id.split(":")
        assert [v.version for v in api.dataset_versions(ident)] == [version]
        assert api.get_dataset_version(ident, version).committed
    api.delete_dataset(made.id)
    with pytest.raises(NotFoundError):
        api.get_project("pr-no-such-project")
    api.delete_workflow(workflow.id)
    api.delete_deployment(deployment_id)
    api.delete_secret(project.id, "DEPLOYMENT_API_TOKEN")
    api.delete_project(project.id)


def _dataset(emulator: EmulatorProcess) -> str:
    with emulator.client() as http:
        made = http.post("/datasets", json={"name": "images", "isPublic": False})
        made.raise_for_status()
        ident = str(made.json()["id"])
        version = http.post(f"/datasets/{ident}/versions", json={"message": "first"})
        version.raise_for_status()
        number = version.json()["version"]
        http.put(f"/datasets/{ident}/versions/{number}", json={"isCommitted": True}).raise_for_status()
        return f"{ident}:{number}"


def test_every_call_the_client_makes_is_documented_and_valid(
    recorded: tuple[Counting, RecordingTransport], emulator: EmulatorProcess
) -> None:
    api, transport = recorded
    exercise(api, _dataset(emulator))
    assert api.called == set(API_METHODS), "every method of PaperspaceApi is exercised"
    problems = [problem for exchange in transport.exchanges for problem in exchange.problems()]
    assert problems == []


def test_an_undocumented_endpoint_fails_the_contract() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "x"})

    transport = RecordingTransport(httpx.MockTransport(reply))
    client = GradientClient(ClientSettings("https://api.invalid/v1", "k"), transport=transport)
    client.request("GET", "/experiments/x")  # the retired Gradient API: not in v1
    assert transport.exchanges[0].problems() == [
        "GET /v1/experiments/x: no contract entry (tests/contract/openapi) documents this endpoint"
    ]


@pytest.mark.parametrize("nulls", [False, True], ids=["required-only", "nullables-null"])
def test_the_client_parses_the_smallest_documented_responses(nulls: bool) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        op = operation_for(request.method, request.url.path)
        assert op is not None, f"{request.method} {request.url.path} is not documented"
        return httpx.Response(200, json=minimal(op.response, op.response, nulls=nulls))

    api = Counting(
        PaperspaceApi(
            GradientClient(ClientSettings("https://api.invalid/v1", "k"), transport=httpx.MockTransport(reply))
        )
    )
    api.create_project("p")
    api.get_project("p1")
    api.list_projects()
    api.rename_project("p1", "q")
    api.tag_project("p1", "t")
    api.project_tags("p1")
    api.delete_project("p1")
    api.put_secret("p1", "S", "v")
    api.delete_secret("p1", "S")
    api.upsert_deployment("p1", {"apiVersion": "v1"})
    deployment = api.get_deployment("d1")
    assert deployment.latest_spec is None or deployment.latest_spec.id == "x"
    api.find_deployment("p1", "api")
    api.project_deployments("p1")
    api.deployment_runs("d1")
    api.delete_deployment("d1")
    api.create_workflow("p1", "w", {"jobs": {}})
    api.list_workflows("p1")
    api.get_workflow("w1")
    api.delete_workflow("w1")
    run = api.start_run("w1", {"jobs": {}})
    assert (run.number, run.phase) == (1, "Pending")  # no status yet: not started
    api.list_runs("w1")
    api.get_run("w1", 1)
    api.cancel_run("w1", 1)
    api.run_logs("w1", run)
    api.list_models("p1")
    api.create_dataset("n", None, None)
    api.get_dataset("ds1")
    api.list_datasets()
    api.find_dataset("n")
    api.update_dataset("ds1", "n", None)
    api.dataset_versions("ds1")
    api.get_dataset_version("ds1", "v1")
    api.delete_dataset("ds1")
    assert api.called == set(API_METHODS)


def _stack_inputs(section: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((REPO_ROOT / "stacks").glob("*.yaml")):
        stack = load_stack(path)
        for key, declaration in stack.section(section).items():
            inputs = dict(declaration.inputs)
            env = inputs.pop("env", {})
            inputs["env"] = {k: v for k, v in env.items() if not isinstance(v, SecretRef)}
            inputs["secretEnv"] = {k: SECRET_CANARY for k, v in env.items() if isinstance(v, SecretRef)}
            inputs["projectId"] = "pr-contract"
            if declaration.references.get("model"):
                inputs["modelId"] = "mo-contract"
            for name, keys in declaration.nested_references.items():  # the datasets jobs name, by id
                inputs[name] = {key: f"ds-contract-{key}" for key in keys}
            yield f"{path.name}:{key}", inputs


@pytest.mark.parametrize(("where", "inputs"), list(_stack_inputs("deployments")))
def test_deployment_configs_of_the_stack_files_are_valid_upserts(where: str, inputs: dict[str, Any]) -> None:
    config = build_config(DEPLOYMENT_TABLE.with_defaults(inputs), 1)
    assert by_name("deployments-upsert").validate("request", {"projectId": "pr-contract", "config": config}) == []
    assert SECRET_CANARY not in str(config), "a secret value never enters a spec"


@pytest.mark.parametrize(("where", "inputs"), list(_stack_inputs("experiments")))
def test_workflow_specs_of_the_stack_files_are_valid_runs(where: str, inputs: dict[str, Any]) -> None:
    spec = build_spec(EXPERIMENT_TABLE.with_defaults(inputs), 1)
    assert SECRET_CANARY not in str(spec)
    assert by_name("workflowRuns-create").validate("request", {"spec": spec}) == []
    assert by_name("workflows-create").validate("request", {"name": "w", "projectId": "p", "spec": spec}) == []


def test_print_the_endpoints_the_client_uses_with_their_contract(
    recorded: tuple[Counting, RecordingTransport], emulator: EmulatorProcess, record_property: Any
) -> None:
    api, transport = recorded
    exercise(api, _dataset(emulator))
    used: dict[tuple[str, str], Exchange] = {}
    for exchange in transport.exchanges:
        key = (exchange.method, exchange.operation.path if exchange.operation else exchange.path)
        used.setdefault(key, exchange)
    documented = [e for e in used.values() if e.operation is not None]
    lines = [f"{'method':<7} {'path':<52} {'operation':<30} source"]
    for (method, path), exchange in sorted(used.items(), key=lambda item: (item[0][1], item[0][0])):
        op = exchange.operation
        lines.append(f"{method:<7} {path:<52} {op.name if op else 'UNDOCUMENTED':<30} {op.source if op else ''}")
    coverage = 100 * len(documented) // len(used)
    lines.append(f"{len(used)} endpoints, {len(documented)} with a contract entry: coverage {coverage} %")
    # Printed at the end of the run by tests/conftest.py (a worker's own output would be lost under xdist).
    record_property("summary", "Endpoints the client uses (tests/contract/openapi):\n" + "\n".join(lines))
    assert coverage == 100
    assert Path(__file__).parent.joinpath("openapi", "README.md").exists()
