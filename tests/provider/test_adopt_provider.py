"""`adopt: <id>` through the real pulumi.dynamic server against the emulator: each kind takes over what was made
outside the stack (nothing created on Paperspace), reconciles it with its own update rules, and fails clearly
on a wrong id, another project's object or another team's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gradient_provider.kinds.experiment.lifecycle import ExperimentLifecycle
from gradient_provider.kinds.experiment.wire import build_spec
from tests.support.dynamic_server import ProviderCallError
from tests.support.emulator import EmulatorProcess

from .conftest import Kind

OTHER_TEAM_KEY = "other-key"  # the session emulator's second team (tests/conftest.py)


def _objects(emulator: EmulatorProcess) -> dict[str, int]:
    objects: dict[str, int] = emulator.stats()["objects"].get("team-dev", {})
    return objects


def _deployment_inputs(project_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "name": "api",
        "image": "paperspace/fastapi-deployment:latest",
        "machineType": "C4",
        "ports": [8000],
        **overrides,
    }


def _upsert(api: httpx.Client, project_id: str, config: dict[str, Any]) -> str:
    answer = api.post("/deployments", json={"projectId": project_id, "config": config})
    assert answer.status_code == 200, answer.text
    ident: str = answer.json()["deploymentId"]
    return ident


def _legacy_config(name: str = "legacy-api", replicas: int = 1) -> dict[str, Any]:
    """A deployment made outside the stack, in the oldest config shape the API takes."""
    return {
        "apiVersion": "v0alpha0",
        "name": name,
        "image": "paperspace/fastapi-deployment:latest",
        "port": 8000,
        "resources": {"instanceType": "C4", "replicas": replicas},
    }


def _only_the_message(details: str) -> None:
    """The dynamic server prefixes every failure with its own frames; what the provider adds is the one error,
    with no chained cause (no HTTP client or retry frames)."""
    assert "During handling of the above exception" not in details and "direct cause" not in details
    assert details.rstrip().splitlines()[-1].startswith("gradient_provider.dynamic.GradientProviderError: create ")


def _new_project(api: httpx.Client, name: str = "Elsewhere") -> str:
    ident: str = api.post("/projects", json={"name": name}).json()["id"]
    return ident


def _experiment_inputs(project_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "name": "train",
        "image": "pytorch/pytorch:2.3.0",
        "command": "python train.py",
        "machineType": "A4000",
        **overrides,
    }


def _workflow_with_a_run(api: httpx.Client, emulator: EmulatorProcess, project_id: str, spec: dict[str, Any]) -> str:
    workflow_id: str = api.post("/workflows", json={"name": "train", "projectId": project_id}).json()["id"]
    assert api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec}).status_code == 200
    emulator.advance(3600)  # the run has succeeded by now
    return workflow_id


def test_a_project_is_taken_over_not_created(projects: Kind, api: httpx.Client, emulator: EmulatorProcess) -> None:
    existing = _new_project(api, "Old name")
    ident, outputs = projects.create({"name": "Research", "adopt": existing})
    assert ident == existing and outputs["projectId"] == existing
    assert [p["name"] for p in api.get("/projects").json()["items"]] == ["Research"]
    assert _objects(emulator) == {"project": 1}  # renamed in place; no project made, no tag added


def test_a_deployment_in_an_old_shape_is_taken_over_and_reconciled(
    deployments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident = _upsert(api, project_id, _legacy_config())
    emulator.advance(600)
    before = _objects(emulator)
    new_id, outputs = deployments.create(_deployment_inputs(project_id, replicas=2, adopt=ident))
    assert new_id == ident and outputs["status"] == "ready" and outputs["readyReplicas"] == 2
    assert _objects(emulator) == {**before, "spec": 2}  # the same deployment, one new spec version
    [listed] = api.get(f"/projects/{project_id}/deployments").json()["items"]
    config = listed["latestSpec"]["data"]
    assert listed["id"] == ident and config["name"] == "api" and config["apiVersion"] == "v1"
    assert config["resources"] == {"machineType": "C4", "ports": [8000], "replicas": 2}
    # afterwards `adopt` may go: no diff, and a read gives back the stack entry's inputs
    assert deployments.diff(ident, outputs, _deployment_inputs(project_id, replicas=2)).changes == "DIFF_NONE"
    _, _, read_inputs = deployments.read(ident, outputs)
    assert deployments.diff(ident, read_inputs, _deployment_inputs(project_id, replicas=2)).changes == "DIFF_NONE"


def test_a_deployment_that_matches_is_taken_over_without_a_new_spec(
    deployments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident = _upsert(api, project_id, _legacy_config(name="api", replicas=1))
    emulator.advance(600)
    before = emulator.stats()["writes"]
    new_id, outputs = deployments.create(_deployment_inputs(project_id, adopt=ident))
    assert new_id == ident and outputs["status"] == "ready"
    assert emulator.stats()["writes"] == before  # the old shape means the same: nothing to write
    assert api.get(f"/deployments/{ident}").json()["latestSpec"]["data"]["apiVersion"] == "v0alpha0"


def test_an_experiment_is_taken_over_and_runs_only_when_its_run_fields_differ(
    experiments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    inputs, _ = ExperimentLifecycle.check(_experiment_inputs(project_id))
    workflow_id = _workflow_with_a_run(api, emulator, project_id, build_spec(inputs))
    before = _objects(emulator)
    ident, outputs = experiments.create(_experiment_inputs(project_id, adopt=workflow_id))
    assert ident == workflow_id and outputs["runNumber"] == 1 and outputs["phase"] == "Succeeded"
    assert _objects(emulator) == before  # no workflow, no run

    experiments.delete(ident, outputs)  # and again, with a changed command: one new run on the same workflow
    workflow_id = _workflow_with_a_run(api, emulator, project_id, build_spec(inputs))
    changed = _experiment_inputs(project_id, adopt=workflow_id, command="python train.py --epochs 9")
    ident, outputs = experiments.create(changed)
    assert ident == workflow_id and outputs["runNumber"] == 2 and outputs["phase"] == "Succeeded"
    assert [w["id"] for w in api.get("/workflows", params={"projectId": project_id}).json()] == [workflow_id]


def test_a_dataset_is_taken_over_and_updated_in_place(
    datasets: Kind, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    existing: str = api.post("/datasets", json={"name": "corpus", "isPublic": False}).json()["id"]
    ident, outputs = datasets.create({"name": "corpus", "description": "Training text", "adopt": existing})
    assert ident == existing and outputs["datasetId"] == existing
    assert api.get(f"/datasets/{existing}").json()["description"] == "Training text"
    assert _objects(emulator) == {"dataset": 1}


@pytest.mark.parametrize(
    ("kind", "inputs"),
    [
        ("projects", {"name": "Research"}),
        ("datasets", {"name": "corpus"}),
        ("experiments", _experiment_inputs("PROJECT")),
        ("deployments", _deployment_inputs("PROJECT")),
    ],
)
def test_a_wrong_id_fails_clearly(
    request: pytest.FixtureRequest, kind: str, inputs: dict[str, Any], emulator: EmulatorProcess
) -> None:
    provider: Kind = request.getfixturevalue(kind)
    project_id = request.getfixturevalue("project_id")
    inputs = {k: project_id if v == "PROJECT" else v for k, v in inputs.items()}
    before = _objects(emulator)
    with pytest.raises(ProviderCallError) as failure:
        provider.create({**inputs, "adopt": "nope123"})
    noun = kind.removesuffix("s")
    assert f"adopt 'nope123': there is no {noun} with this id in the team of this API key" in failure.value.details
    _only_the_message(failure.value.details)
    assert _objects(emulator) == before


def test_another_projects_objects_are_refused(
    deployments: Kind, experiments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    elsewhere = _new_project(api)
    deployment = _upsert(api, elsewhere, _legacy_config())
    inputs, _ = ExperimentLifecycle.check(_experiment_inputs(elsewhere))
    workflow = _workflow_with_a_run(api, emulator, elsewhere, build_spec(inputs))
    before = _objects(emulator)
    with pytest.raises(ProviderCallError) as failure:
        deployments.create(_deployment_inputs(project_id, adopt=deployment))
    assert f"create Deployment 'api': adopt '{deployment}': this deployment belongs to project '{elsewhere}'" in (
        failure.value.details
    )
    with pytest.raises(ProviderCallError) as failure:
        experiments.create(_experiment_inputs(project_id, adopt=workflow))
    assert f"this experiment belongs to another project, not to the entry's project '{project_id}'" in (
        failure.value.details
    )
    _only_the_message(failure.value.details)
    assert _objects(emulator) == before


def test_another_teams_objects_are_not_found(projects: Kind, emulator: EmulatorProcess) -> None:
    with emulator.client(key=OTHER_TEAM_KEY) as theirs:
        their_project: str = theirs.post("/projects", json={"name": "Theirs"}).json()["id"]
    with pytest.raises(ProviderCallError) as failure:
        projects.create({"name": "Research", "adopt": their_project})
    assert "there is no project with this id in the team of this API key" in failure.value.details
    with emulator.client(key=OTHER_TEAM_KEY) as theirs:
        assert theirs.get(f"/projects/{their_project}").json()["name"] == "Theirs"  # untouched
