"""`pulumi up / preview / refresh / destroy` scenarios through the engine harness against the emulator.

Each asserts both the checkpoint the harness keeps and what the emulator itself holds.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_provider.resources import DeploymentProvider, ExperimentProvider, ProjectProvider, ReadinessProvider
from tests.support.dynamic_server import provider_blob
from tests.support.emulator import REPO_ROOT, EmulatorProcess
from tests.support.stacks import SCENARIO_STACK as BASE_STACK

from .conftest import HF_TOKEN, Project
from .harness import Engine, EngineError, Step


def _ops(steps: list[Step]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for step in steps:
        found.setdefault(step.urn.rsplit("::", 1)[-1], []).append(step.op)
    return found


def _objects(emulator: EmulatorProcess) -> dict[str, int]:
    objects: dict[str, int] = emulator.stats()["objects"].get("team-dev", {})
    return objects


def _calls(emulator: EmulatorProcess) -> tuple[int, int]:
    stats = emulator.stats()
    return stats["total"], stats["writes"]


def _deployment(api: httpx.Client, ident: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/deployments/{ident}").json()
    return body


def test_up_from_empty_creates_everything_in_dependency_order(
    engine: Engine, emulator: EmulatorProcess, api: httpx.Client
) -> None:
    steps = engine.up()
    assert _ops(steps) == {
        "research": ["create"],
        "other": ["create"],
        "train": ["create"],
        "api": ["create"],
        "readiness": ["create"],
    }
    order = [s.urn.rsplit("::", 1)[-1] for s in steps]
    assert order.index("research") < order.index("train") < order.index("api") < order.index("readiness")
    assert _objects(emulator) == {
        "project": 2,
        "workflow": 1,
        "run": 1,
        "model": 1,
        "deployment": 1,
        "spec": 1,
        "secret": 1,
        "tag": 2,  # each project made by a create is marked (kinds/project)
    }
    deployment = engine.resource("Deployment", "api")
    live = _deployment(api, deployment.id)
    assert live["projectId"] == engine.resource("Project", "research").id
    # the deployment's create returned once accepted; the stack's Readiness resource waited until it was ready
    statuses = engine.resource("Readiness", "readiness").outputs["statuses"]
    assert live["latestSpec"]["dtHealthy"] and statuses["deployments.api"]["status"] == "ready"
    assert statuses["deployments.api"]["specId"] == live["latestSpec"]["id"]
    train = engine.resource("Experiment", "train")
    assert live["latestSpec"]["data"]["integrations"][0]["id"] == train.outputs["modelId"]
    assert deployment.dependencies == sorted([engine.resource("Project", "research").urn, train.urn])


def test_secret_config_stays_secret_in_state(engine: Engine) -> None:
    engine.up()
    checkpoint = engine.state_path.read_text()
    assert HF_TOKEN not in checkpoint
    deployment = engine.resource("Deployment", "api")
    assert "secretEnv" in deployment.secret_keys and "__provider" in deployment.secret_keys
    assert "env" not in deployment.secret_keys and "HF_TOKEN" not in deployment.outputs["env"]
    assert deployment.outputs["secretEnv"] == {"HF_TOKEN": HF_TOKEN}  # encrypted in state, as the input was
    assert "env" not in engine.resource("Experiment", "train").secret_keys
    engine.refresh()  # what read returns is stored too: still only encrypted
    assert HF_TOKEN not in engine.state_path.read_text()
    assert "secretEnv" in engine.resource("Deployment", "api").secret_keys


def test_a_second_up_without_changes_makes_no_api_call(engine: Engine, emulator: EmulatorProcess) -> None:
    engine.up()
    before = _calls(emulator)
    steps = engine.up()
    assert {op for ops in _ops(steps).values() for op in ops} == {"same"}
    assert _calls(emulator) == before


def test_refresh_then_up_on_an_unchanged_stack_changes_nothing(engine: Engine, emulator: EmulatorProcess) -> None:
    engine.up()
    before = emulator.stats()["writes"]
    engine.refresh()
    steps = engine.up()
    assert {op for ops in _ops(steps).values() for op in ops} == {"same"}, "refresh stores what up would write"
    assert emulator.stats()["writes"] == before


def test_preview_makes_no_api_call_and_changes_nothing(
    engine: Engine, project: Project, emulator: EmulatorProcess
) -> None:
    engine.up()
    checkpoint = engine.state_path.read_text()
    project.edit("replicas: 2", "replicas: 3")
    project.edit("command: python train.py", "command: python train.py --lr 0.1")
    before = _calls(emulator)
    steps = engine.preview()
    assert _ops(steps) == {
        "research": ["same"],
        "other": ["same"],
        "train": ["update"],
        "api": ["update"],
        "readiness": ["update"],
    }
    assert _calls(emulator) == before
    assert engine.state_path.read_text() == checkpoint


def test_replicas_and_image_change_in_place(engine: Engine, project: Project, api: httpx.Client) -> None:
    engine.up()
    ident = engine.resource("Deployment", "api").id
    project.edit("replicas: 2", "replicas: 3")
    project.edit("fastapi-deployment:latest", "fastapi-deployment:1.9")
    assert _ops(engine.up())["api"] == ["update"]
    assert engine.resource("Deployment", "api").id == ident
    spec = _deployment(api, ident)["latestSpec"]["data"]
    assert spec["resources"]["replicas"] == 3 and spec["image"] == "paperspace/fastapi-deployment:1.9"
    assert engine.resource("Readiness", "readiness").outputs["statuses"]["deployments.api"]["readyReplicas"] == 3


def test_project_rename_is_in_place(engine: Engine, project: Project, api: httpx.Client) -> None:
    engine.up()
    ident = engine.resource("Project", "research").id
    project.edit("research: {name: Research}", "research: {name: Research Lab}")
    assert _ops(engine.up())["research"] == ["update"]
    assert engine.resource("Project", "research").id == ident
    assert api.get(f"/projects/{ident}").json()["name"] == "Research Lab"


def test_experiment_command_change_starts_a_second_run_and_replaces_nothing(
    engine: Engine, project: Project, emulator: EmulatorProcess, api: httpx.Client
) -> None:
    engine.up()
    workflow = engine.resource("Experiment", "train").id
    first_model = engine.resource("Experiment", "train").outputs["modelId"]
    project.edit("command: python train.py", "command: python train.py --epochs 10")
    steps = _ops(engine.up())
    assert steps["train"] == ["update"] and "replace" not in str(steps)
    train = engine.resource("Experiment", "train")
    assert train.id == workflow and train.outputs["runNumber"] == 2
    assert [r["number"] for r in train.outputs["runs"]] == [1, 2]
    assert [r["id"] for r in api.get(f"/workflows/{workflow}/runs").json()["items"]] == [1, 2]
    assert _objects(emulator)["workflow"] == 1
    # The retrained model is newer: the deployment follows it in place.
    assert train.outputs["modelId"] != first_model and steps["api"] == ["update"]
    live = _deployment(api, engine.resource("Deployment", "api").id)
    assert live["latestSpec"]["data"]["integrations"][0]["id"] == train.outputs["modelId"]


def test_moving_a_deployment_to_another_project_replaces_it_without_an_orphan(
    engine: Engine, project: Project, api: httpx.Client
) -> None:
    engine.up()
    old_id = engine.resource("Deployment", "api").id
    project.edit("  api:\n    project: research", "  api:\n    project: other")
    steps = engine.up()
    assert _ops(steps)["api"] == ["replace", "delete"]
    new = engine.resource("Deployment", "api")
    assert new.id != old_id and api.get(f"/deployments/{old_id}").status_code == 404
    items = api.get("/deployments").json()["items"]
    assert [(d["id"], d["projectId"]) for d in items] == [(new.id, engine.resource("Project", "other").id)]
    assert [r.delete for r in engine.state()] == [False] * 5


def test_removing_a_deployment_from_the_stack_deletes_it(engine: Engine, project: Project, api: httpx.Client) -> None:
    engine.up()
    ident = engine.resource("Deployment", "api").id
    text = (project.root / "stacks" / "dev.yaml").read_text()
    project.write(text[: text.index("deployments:")])
    assert _ops(engine.up())["api"] == ["delete"]
    assert api.get(f"/deployments/{ident}").status_code == 404
    assert {r.kind for r in engine.state()} == {"Project", "Experiment", "Readiness"}
    # no deployment mounts the model any more: the readiness resource waits for the experiment now
    targets = engine.resource("Readiness", "readiness").inputs["targets"]
    assert [t["resource"] for t in targets] == ["experiments.train"]


def test_refresh_shows_out_of_band_edits_and_drops_what_was_deleted(engine: Engine, api: httpx.Client) -> None:
    engine.up()
    deployment = engine.resource("Deployment", "api")
    config = _deployment(api, deployment.id)["latestSpec"]["data"]
    config["resources"]["replicas"] = 5
    api.post(
        "/deployments",
        json={"projectId": deployment.inputs["projectId"], "config": config, "deploymentId": deployment.id},
    ).raise_for_status()
    steps = engine.refresh()
    assert set(_ops(steps)["api"]) == {"refresh"}
    refreshed = engine.resource("Deployment", "api")
    assert refreshed.inputs["replicas"] == 5 and refreshed.outputs["replicas"] == 5
    assert _ops(engine.up())["api"] == ["update"]  # the stack file says 2: drift is put right
    assert _deployment(api, deployment.id)["latestSpec"]["data"]["resources"]["replicas"] == 2

    api.delete(f"/deployments/{deployment.id}").raise_for_status()
    assert _ops(engine.refresh())["api"] == ["refresh-delete"]
    assert "Deployment" not in {r.kind for r in engine.state()}
    assert _ops(engine.up())["api"] == ["create"]


def test_destroy_leaves_the_team_with_nothing(engine: Engine, emulator: EmulatorProcess) -> None:
    engine.up()
    steps = engine.destroy()
    order = [s.urn.rsplit("::", 1)[-1] for s in steps]
    assert order.index("api") < order.index("train") < order.index("research")
    assert _objects(emulator) == {}
    assert engine.state() == []


def test_editing_provider_code_leaves_the_provider_blob_unchanged(engine: Engine, tmp_path: Path) -> None:
    engine.up()
    blobs = {r.kind: r.inputs["__provider"] for r in engine.state()}
    assert blobs == {
        "Project": provider_blob(ProjectProvider),
        "Experiment": provider_blob(ExperimentProvider),
        "Deployment": provider_blob(DeploymentProvider),
        "Readiness": provider_blob(ReadinessProvider),
    }
    # Serialize again from an edited copy of the package: a by-value pickle would change; by reference cannot.
    edited = tmp_path / "edited"
    (edited / "gradient_provider").parent.mkdir()
    import shutil

    shutil.copytree(REPO_ROOT / "gradient_provider", edited / "gradient_provider")
    resources = edited / "gradient_provider" / "resources.py"
    resources.write_text(
        "# an edit that moves every line\n\n"
        + resources.read_text().replace(
            "class ProjectProvider(LifecycleProvider):", "class ProjectProvider(LifecycleProvider):\n    '''Edited.'''"
        )
    )
    script = (
        "from pulumi.dynamic.dynamic import serialize_provider\n"
        "from gradient_provider.resources import ProjectProvider\n"
        "print(serialize_provider(ProjectProvider()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=edited,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(edited), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == blobs["Project"]
    assert b"Edited" not in base64.b64decode(result.stdout.strip())
    before = {r.urn: r for r in engine.state()}
    assert {op for ops in _ops(engine.up()).values() for op in ops} == {"same"}
    assert {r.urn: r for r in engine.state()} == before  # (independent resources may register in any order)


def test_a_failed_experiment_run_leaves_state_consistent_and_the_next_up_retries_it(
    engine: Engine, project: Project, api: httpx.Client
) -> None:
    project.edit('env: {EMULATOR_RUN_SECONDS: "1"}', 'env: {EMULATOR_RUN_SECONDS: "1", EMULATOR_EXIT_CODE: "3"}')
    with pytest.raises(EngineError) as failure:
        engine.up()
    assert "run 1 ended Failed: job 'train' failed: exited with code 3" in str(failure.value)
    assert {(r.kind, r.name) for r in engine.state()} == {("Project", "research"), ("Project", "other")}
    assert api.get("/deployments").json()["items"] == []
    project.edit(', EMULATOR_EXIT_CODE: "3"', "")
    steps = _ops(engine.up())
    assert steps["train"] == ["create"] and steps["api"] == ["create"] and steps["research"] == ["same"]
    train = engine.resource("Experiment", "train")
    assert [r["phase"] for r in train.outputs["runs"]] == ["Failed", "Succeeded"]
    assert len(api.get("/workflows").json()) == 1


def test_invalid_stack_file_applies_nothing(engine: Engine, project: Project, emulator: EmulatorProcess) -> None:
    engine.up()
    state = engine.state()
    before = _calls(emulator)
    project.edit("replicas: 2", "replicas: many")
    with pytest.raises(EngineError, match=r"deployments\.api\.replicas: expected an integer"):
        engine.up()
    # The real CLI writes the checkpoint again after a failed update (a new manifest time), with the same
    # resources: what must not change is the resources, not the file's bytes.
    assert _calls(emulator) == before and engine.state() == state


def test_a_deployment_that_crashes_fails_the_up_through_the_readiness_resource_until_fixed(
    engine: Engine, project: Project, api: httpx.Client
) -> None:
    """The create returns once Paperspace accepted the spec (it is in state: nothing is orphaned); the stack's
    Readiness resource sees the instances crash and fails the up naming the resource and the instance's
    message; every next up waits again until the stack file is fixed."""
    project.edit("env: {MODE: prod,", 'env: {MODE: prod, EMULATOR_CRASH: "1",')
    with pytest.raises(EngineError) as failure:
        engine.up()
    message = str(failure.value)
    deployment = engine.resource("Deployment", "api")
    assert f"deployments.api (deployment 'api', {deployment.id}) failed: instance " in message
    assert "crash requested by EMULATOR_CRASH=1" in message
    assert "Readiness" not in {r.kind for r in engine.state()}, "a failed create records nothing"
    with pytest.raises(EngineError, match="crash requested"):
        engine.up()
    project.edit('env: {MODE: prod, EMULATOR_CRASH: "1",', "env: {MODE: prod,")
    steps = _ops(engine.up())
    assert steps["api"] == ["update"] and steps["readiness"] == ["create"]
    statuses = engine.resource("Readiness", "readiness").outputs["statuses"]
    assert statuses["deployments.api"]["status"] == "ready"
    assert _deployment(api, deployment.id)["latestSpec"]["dtHealthy"]


def test_a_replacement_that_crashes_keeps_the_old_deployment(
    engine: Engine, project: Project, api: httpx.Client
) -> None:
    """The replacement's create returns before it is healthy, but Pulumi deletes a replaced resource only when
    the whole up succeeded: the Readiness resource's failure leaves the old deployment serving."""
    engine.up()
    old_id = engine.resource("Deployment", "api").id
    project.edit("  api:\n    project: research", "  api:\n    project: other")
    project.edit("env: {MODE: prod,", 'env: {MODE: prod, EMULATOR_CRASH: "1",')
    with pytest.raises(EngineError, match="crash requested"):
        engine.up()
    assert _deployment(api, old_id)["latestSpec"]["dtHealthy"], "the old deployment still serves"
    assert [r.id for r in engine.state() if r.kind == "Deployment" and r.delete] == [old_id], "pending delete"


def test_a_stack_its_policy_denies_applies_nothing(engine: Engine, project: Project, emulator: EmulatorProcess) -> None:
    """The program applies the stack file's guardrails before it declares anything: a `deny` rule broken is an
    error naming the file, the line and the rule, and Paperspace sees no write."""
    text = "policy:\n  maxReplicas: {limit: 1}\n  machineTypes: {deny: [C4], level: warn}\n" + BASE_STACK
    project.write(text)
    writes = emulator.stats()["writes"]
    with pytest.raises(EngineError) as failure:
        engine.up()
    line = text.split("\n").index("    replicas: 2") + 1
    message = str(failure.value)
    assert "the stack's policy denies it; nothing was applied" in message
    assert f"dev.yaml:{line}: deployments.api.replicas: deny: may run 2 replicas, over the limit of 1 " in message
    assert "(policy.maxReplicas)" in message
    assert emulator.stats()["writes"] == writes and engine.state() == []
