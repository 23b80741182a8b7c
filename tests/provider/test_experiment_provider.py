"""Experiment (a workflow and its runs) through the real pulumi.dynamic server against the emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gradient_provider.lifecycles.secret_env import secret_name
from tests.support.dynamic_server import ProviderCallError
from tests.support.emulator import EmulatorProcess, wait_for

from .conftest import Kind, request_count, write_count


def _inputs(project_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "name": "train",
        "image": "pytorch/pytorch:2.3.0",
        "command": "python train.py --epochs 5",
        "machineType": "A100-80G",
        "env": {"EPOCHS": "5", "EMULATOR_RUN_SECONDS": "1"},
        "model": {"name": "resnet50", "path": "/outputs/model"},
        **overrides,
    }


def _runs(api: httpx.Client, workflow_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/workflows/{workflow_id}/runs").json()["items"]
    return items


def test_create_runs_to_completion_and_registers_the_model(
    experiments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, outputs = experiments.create(_inputs(project_id))
    assert outputs["workflowId"] == ident and outputs["runNumber"] == 1 and outputs["phase"] == "Succeeded"
    assert outputs["startedAt"] and outputs["finishedAt"]
    model = api.get(f"/models/{outputs['modelId']}").json()
    assert model["name"] == "resnet50" and model["projectId"] == project_id
    [run] = _runs(api, ident)
    # v1 registers a model through a create-model@v1 job that takes the training job's output volume.
    register = run["spec"]["jobs"]["create-model"]
    assert register["uses"] == "create-model@v1" and register["needs"] == ["train"]
    assert register["inputs"] == {"model": "train.outputs.model"}
    assert register["with"] == {"name": "resnet50", "type": "Custom"}
    assert run["status"]["jobs"]["create-model"]["outputs"]["model-id"] == outputs["modelId"]
    assert run["id"] == 1 and "seq" not in run, "a run's number is its v1 id"
    train = run["spec"]["jobs"]["train"]
    assert train["outputs"] == {"model": {"type": "volume"}}
    assert train["with"] == {"image": "pytorch/pytorch:2.3.0", "args": ["sh", "-c", "python train.py --epochs 5"]}
    assert train["resources"] == {"instance-type": "A100-80G"} and train["env"]["EPOCHS"] == "5"
    [listed] = outputs["runs"]
    assert {k: listed[k] for k in ("number", "phase")} == {"number": 1, "phase": "Succeeded"}
    assert {name: job["phase"] for name, job in listed["jobs"].items()} == {
        "train": "Succeeded",
        "create-model": "Succeeded",
    }
    assert all(job["started"] and job["finished"] for job in listed["jobs"].values())


def test_no_op_diff_makes_no_api_call(experiments: Kind, project_id: str, emulator: EmulatorProcess) -> None:
    ident, state = experiments.create(_inputs(project_id))
    before = request_count(emulator)
    answer = experiments.diff(ident, state, _inputs(project_id))
    assert answer.changes == "DIFF_NONE" and answer.replaces == []
    assert request_count(emulator) == before


@pytest.mark.parametrize(
    "change",
    [
        {"command": "python train.py --epochs 10"},
        {"image": "pytorch/pytorch:2.4.0"},
        {"rerun": "2"},
        {"env": {"EPOCHS": "7", "EMULATOR_RUN_SECONDS": "1"}},
        {"machineType": "A4000"},
    ],
)
def test_run_affecting_changes_start_a_new_run_on_the_same_workflow(
    experiments: Kind, project_id: str, api: httpx.Client, change: dict[str, Any]
) -> None:
    ident, state = experiments.create(_inputs(project_id))
    news = _inputs(project_id, **change)
    answer = experiments.diff(ident, state, news)
    assert answer.changes == "DIFF_SOME" and answer.replaces == [], "a new run is an update, not a replace"
    outputs = experiments.update(ident, state, news)
    assert outputs["workflowId"] == ident and outputs["runNumber"] == 2 and outputs["phase"] == "Succeeded"
    assert [r["number"] for r in outputs["runs"]] == [1, 2]
    assert outputs["runs"][0]["specHash"] != outputs["runs"][1]["specHash"]
    assert [r["id"] for r in _runs(api, ident)] == [1, 2]
    assert len(api.get("/workflows").json()) == 1


@pytest.mark.parametrize("field", ["name", "projectId"])
def test_name_or_project_changes_replace(experiments: Kind, project_id: str, api: httpx.Client, field: str) -> None:
    ident, state = experiments.create(_inputs(project_id))
    other = api.post("/projects", json={"name": "Other"}).json()["id"]
    news = _inputs(project_id, **({"name": "train-2"} if field == "name" else {"projectId": other}))
    answer = experiments.diff(ident, state, news)
    assert answer.changes == "DIFF_SOME" and answer.replaces == [field]


def test_local_only_change_starts_no_run(experiments: Kind, project_id: str, emulator: EmulatorProcess) -> None:
    ident, state = experiments.create(_inputs(project_id))
    before = write_count(emulator)
    outputs = experiments.update(ident, state, _inputs(project_id, timeoutSeconds=60, wait="started"))
    assert write_count(emulator) == before and outputs["runNumber"] == 1 and outputs["timeoutSeconds"] == 60


def test_read_never_starts_a_run_shows_drift_and_reports_gone(
    experiments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident, state = experiments.create(_inputs(project_id, rerun="a"))
    spec = _runs(api, ident)[0]["spec"]
    spec["jobs"]["train"]["with"]["image"] = "someone/else:1"
    api.post(f"/workflows/{ident}/runs", json={"spec": spec}).raise_for_status()
    before = write_count(emulator)
    same, outputs, inputs = experiments.read(ident, state)
    assert write_count(emulator) == before, "refresh must never start a run"
    assert same == ident and inputs["image"] == "someone/else:1" and outputs["runNumber"] == 2
    assert inputs["rerun"] == "a" and inputs["command"] == "python train.py --epochs 5"
    assert experiments.diff(ident, outputs, _inputs(project_id, rerun="a")).changes == "DIFF_SOME"
    api.delete(f"/workflows/{ident}").raise_for_status()
    assert experiments.read(ident, state)[:2] == ("", {})


def test_a_failed_run_fails_the_operation_and_the_next_create_retries_it(
    experiments: Kind, project_id: str, api: httpx.Client
) -> None:
    failing = _inputs(project_id, env={"EMULATOR_EXIT_CODE": "2", "EMULATOR_RUN_SECONDS": "1"})
    with pytest.raises(ProviderCallError) as failure:
        experiments.create(failing)
    assert "run 1 ended Failed" in failure.value.details and "exited with code 2" in failure.value.details
    [workflow] = api.get("/workflows", params={"projectId": project_id}).json()
    fixed = _inputs(project_id)
    ident, outputs = experiments.create(fixed)  # the engine retries the create on the next `up`
    assert ident == workflow["id"], "the workflow is adopted, not duplicated"
    assert outputs["runNumber"] == 2 and [r["phase"] for r in outputs["runs"]] == ["Failed", "Succeeded"]


def test_a_failed_update_is_retried_by_the_next_update(experiments: Kind, project_id: str) -> None:
    ident, state = experiments.create(_inputs(project_id))
    failing = _inputs(
        project_id, command="python train.py --bad", env={"EMULATOR_EXIT_CODE": "1", "EMULATOR_RUN_SECONDS": "1"}
    )
    with pytest.raises(ProviderCallError):
        experiments.update(ident, state, failing)
    # A failed update keeps the old state, so the engine diffs and updates again from it.
    assert experiments.diff(ident, state, _inputs(project_id, command="python train.py --good")).changes == "DIFF_SOME"
    outputs = experiments.update(ident, state, _inputs(project_id, command="python train.py --good"))
    assert outputs["runNumber"] == 3 and outputs["phase"] == "Succeeded"


def test_wait_started_returns_while_the_run_goes_on(experiments: Kind, project_id: str) -> None:
    long_run = _inputs(project_id, wait="started", env={"EMULATOR_RUN_SECONDS": "600"})
    _, outputs = experiments.create(long_run)
    # None outputs do not survive serialization: absent means "not yet".
    assert outputs["phase"] == "Running" and "finishedAt" not in outputs and "modelId" not in outputs


def test_delete_cancels_the_active_run_then_deletes_the_workflow(
    experiments: Kind, project_id: str, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident, state = experiments.create(_inputs(project_id, wait="none", env={"EMULATOR_RUN_SECONDS": "600"}))
    wait_for(lambda: _runs(api, ident)[0]["status"]["phase"] == "Running")
    experiments.delete(ident, state)
    cancels = [r for r in emulator.stats()["byRoute"] if r["route"].endswith("/cancel")]
    assert [(r["method"], r["status"], r["count"]) for r in cancels] == [("POST", 200, 1)]
    assert api.get(f"/workflows/{ident}").status_code == 404
    experiments.delete(ident, state)  # already gone is success


def _dataset_version(api: httpx.Client, name: str) -> str:
    dataset = api.post("/datasets", json={"name": name, "isPublic": False}).json()["id"]
    version = api.post(f"/datasets/{dataset}/versions", json={"message": "v1"}).json()["version"]
    api.put(f"/datasets/{dataset}/versions/{version}", json={"isCommitted": True}).raise_for_status()
    return f"{dataset}:{version}"


def test_workspace_and_datasets_shape_the_workflow(experiments: Kind, project_id: str, api: httpx.Client) -> None:
    ref = _dataset_version(api, "imagenet")
    inputs = _inputs(
        project_id,
        workspace={"url": "https://github.com/acme/train.git", "ref": "main"},
        datasets=[{"name": "imagenet", "ref": ref}],
    )
    ident, outputs = experiments.create(inputs)
    spec = _runs(api, ident)[0]["spec"]
    assert spec["jobs"]["clone"]["with"] == {"url": "https://github.com/acme/train.git", "ref": "main"}
    assert spec["jobs"]["train"]["needs"] == ["clone"]
    assert spec["inputs"] == {"imagenet": {"type": "dataset", "with": {"ref": ref}}}
    # A job refers to a workflow input as workflow.inputs.<name>, to another job's output as <job>.outputs.<name>.
    assert spec["jobs"]["train"]["inputs"] == {"repo": "clone.outputs.repo", "imagenet": "workflow.inputs.imagenet"}
    _, _, read_inputs = experiments.read(ident, outputs)
    assert read_inputs["workspace"] == inputs["workspace"] and read_inputs["datasets"] == inputs["datasets"]
    assert experiments.diff(ident, outputs, inputs).changes == "DIFF_NONE"


def test_a_cancelled_run_reads_canceled_and_the_next_update_starts_a_new_one(
    experiments: Kind, project_id: str, api: httpx.Client
) -> None:
    ident, state = experiments.create(_inputs(project_id, wait="none", env={"EMULATOR_RUN_SECONDS": "600"}))
    api.post(f"/workflows/{ident}/runs/1/cancel").raise_for_status()
    _, outputs, _ = experiments.read(ident, state)
    assert outputs["phase"] == "Canceled" and outputs["runs"][0]["phase"] == "Canceled"
    updated = experiments.update(ident, outputs, _inputs(project_id, wait="none", rerun="again"))
    assert updated["runNumber"] == 2 and [r["number"] for r in updated["runs"]] == [1, 2]


def test_secret_env_becomes_a_project_secret_and_a_rotation_starts_a_run(
    experiments: Kind, project_id: str, api: httpx.Client
) -> None:
    inputs = _inputs(project_id, secretEnv={"WANDB_API_KEY": "wandb-canary-1"})
    ident, state = experiments.create(inputs)
    [run] = _runs(api, ident)
    name = secret_name("EXPERIMENT", "train", "WANDB_API_KEY")
    assert name.startswith("EXPERIMENT_TRAIN_WANDB_API_KEY_")
    assert run["spec"]["jobs"]["train"]["env"]["WANDB_API_KEY"] == f"secret:{name}"
    assert "wandb-canary-1" not in str(run) and "wandb-canary-1" not in str(api.get(f"/workflows/{ident}").json())
    names = [s["name"] for s in api.get(f"/projects/{project_id}/secrets").json()["items"]]
    assert names == [name]
    first = api.get(f"/projects/{project_id}/secrets/{name}").json()["dtModified"]
    rotated = _inputs(project_id, secretEnv={"WANDB_API_KEY": "wandb-canary-2"})
    assert experiments.diff(ident, state, rotated).changes == "DIFF_SOME"
    outputs = experiments.update(ident, state, rotated)
    assert outputs["runNumber"] == 2 and outputs["secretsRevision"] == 2
    assert "wandb-canary-2" not in str(_runs(api, ident))
    assert api.get(f"/projects/{project_id}/secrets/{name}").json()["dtModified"] > first, "the secret was set"
    experiments.delete(ident, outputs)
    assert api.get(f"/projects/{project_id}/secrets").json()["items"] == []
