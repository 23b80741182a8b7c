"""Experiments with several jobs and the datasets they read and write, through the real pulumi.dynamic server
against the emulator process: one run per change of any job, none for no change, a failing middle job, dataset
versions per run, and datasets that `destroy` keeps while they hold data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gradient_provider.resources import DatasetProvider
from tests.support.dynamic_server import DynamicProviderServer, ProviderCallError, provider_blob
from tests.support.emulator import EmulatorProcess

from .conftest import Kind, write_count


def _jobs(**overrides: dict[str, Any]) -> dict[str, Any]:
    jobs: dict[str, Any] = {
        "prepare": {
            "image": "python:3.11",
            "command": "python prepare.py",
            "machineType": "C5",
            "inputs": {"state": {"dataset": "store"}},
            "outputs": {"prepared": "volume", "state": {"dataset": "store"}},
        },
        "train": {
            "image": "pytorch/pytorch:2.3.0",
            "command": "python train.py",
            "needs": ["prepare"],
            "inputs": {"prepared": {"job": "prepare"}},
        },
        "evaluate": {
            "image": "pytorch/pytorch:2.3.0",
            "command": "python evaluate.py",
            "machineType": "A4000",
            "needs": ["train"],
            "inputs": {"model": {"job": "train"}},
            "artifacts": {"dataset": "reports"},
        },
    }
    for name, change in overrides.items():
        jobs[name] = {**jobs[name], **change}
    return jobs


def _inputs(project_id: str, ids: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "name": "pipeline",
        "machineType": "A100-80G",
        "env": {"EMULATOR_RUN_SECONDS": "1"},
        "jobs": _jobs(),
        "datasetIds": ids,
        "model": {"name": "resnet50", "job": "train"},
        **overrides,
    }


@pytest.fixture
def dataset_ids(provider_server: DynamicProviderServer, project_id: str) -> dict[str, str]:
    """Two datasets, made through the provider on the emulator as the test's other fixtures left it (the
    `datasets` fixture would empty it again)."""
    datasets = Kind(provider_server, provider_blob(DatasetProvider))
    store, _ = datasets.create({"name": "store"})
    reports, _ = datasets.create({"name": "reports", "retainOnDelete": False})
    return {"store": store, "reports": reports}


def _runs(api: httpx.Client, workflow_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/workflows/{workflow_id}/runs").json()["items"]
    return items


def test_a_three_job_experiment_runs_its_dag_and_commits_dataset_versions(
    experiments: Kind, project_id: str, dataset_ids: dict[str, str], api: httpx.Client
) -> None:
    ident, outputs = experiments.create(_inputs(project_id, dataset_ids))
    assert outputs["phase"] == "Succeeded" and outputs["runNumber"] == 1
    jobs = outputs["runs"][0]["jobs"]
    assert {name: job["phase"] for name, job in jobs.items()} == {
        "prepare": "Succeeded",
        "train": "Succeeded",
        "evaluate": "Succeeded",
        "create-model": "Succeeded",
    }
    assert jobs["prepare"]["finished"] <= jobs["train"]["started"], "train needs prepare"
    assert jobs["train"]["finished"] <= jobs["evaluate"]["started"], "evaluate needs train"
    [report] = outputs["artifacts"]
    assert report["job"] == "evaluate" and report["datasetId"] == dataset_ids["reports"] and report["run"] == 1
    versions = {(v["job"], v["output"]): v for v in outputs["datasetVersions"]}
    assert set(versions) == {("prepare", "state"), ("evaluate", "artifacts")}
    committed = api.get(f"/datasets/{dataset_ids['store']}/versions/{versions['prepare', 'state']['version']}")
    assert committed.json()["isCommitted"] is True
    spec = _runs(api, ident)[0]["spec"]
    assert spec["defaults"]["resources"] == {"instance-type": "A100-80G"}, "the experiment's machine is a default"
    assert "resources" not in spec["jobs"]["train"]
    assert spec["jobs"]["train"]["inputs"] == {"prepared": "prepare.outputs.prepared"}
    assert spec["jobs"]["create-model"]["inputs"] == {"model": "train.outputs.model"}
    assert api.get(f"/models/{outputs['modelId']}").json()["name"] == "resnet50"


def test_one_changed_job_starts_one_run_and_no_change_starts_none(
    experiments: Kind, project_id: str, dataset_ids: dict[str, str], api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident, state = experiments.create(_inputs(project_id, dataset_ids))
    unchanged = experiments.diff(ident, state, _inputs(project_id, dataset_ids))
    assert unchanged.changes == "DIFF_NONE"
    news = _inputs(project_id, dataset_ids, jobs=_jobs(evaluate={"command": "python evaluate.py --strict"}))
    assert experiments.diff(ident, state, news).changes == "DIFF_SOME"
    state = experiments.update(ident, state, news)
    assert [r["number"] for r in state["runs"]] == [1, 2] and state["phase"] == "Succeeded"
    assert [a["run"] for a in state["artifacts"]] == [1, 2], "each run commits its own artifacts version"
    assert len({a["version"] for a in state["artifacts"]}) == 2
    # refresh reads the jobs back from the run's spec: no drift, no run started
    before = write_count(emulator)
    _, outputs, inputs = experiments.read(ident, state)
    assert write_count(emulator) == before
    assert experiments.diff(ident, outputs, news).changes == "DIFF_NONE"
    assert inputs["jobs"] == experiments.check(news)["jobs"]
    assert len(_runs(api, ident)) == 2


def test_a_failing_middle_job_fails_with_its_log_tail_and_skips_the_rest(
    experiments: Kind, project_id: str, dataset_ids: dict[str, str], api: httpx.Client
) -> None:
    failing = _jobs(train={"env": {"EMULATOR_EXIT_CODE": "3"}})
    with pytest.raises(ProviderCallError) as raised:
        experiments.create(_inputs(project_id, dataset_ids, jobs=failing))
    message = str(raised.value)
    assert "job 'train' failed: exited with code 3" in message
    assert "log line(s) of job 'train'" in message
    assert "Job 'train' failed: exited with code 3" in message, "the tail holds the job's own last line"
    [workflow] = api.get("/workflows", params={"projectId": project_id}).json()
    [run] = _runs(api, workflow["id"])
    phases = {name: job["phase"] for name, job in run["status"]["jobs"].items()}
    assert phases == {"prepare": "Succeeded", "train": "Failed", "evaluate": "Skipped", "create-model": "Skipped"}


def test_a_dataset_that_holds_data_outlives_destroy_unless_told_otherwise(
    experiments: Kind, project_id: str, dataset_ids: dict[str, str], api: httpx.Client
) -> None:
    datasets = Kind(experiments.server, provider_blob(DatasetProvider))
    ident, state = experiments.create(_inputs(project_id, dataset_ids))
    experiments.delete(ident, state)
    # `store` holds committed versions and keeps the default: kept; `reports` says retainOnDelete: false
    datasets.delete(dataset_ids["store"], {"name": "store", "retainOnDelete": True})
    datasets.delete(dataset_ids["reports"], {"name": "reports", "retainOnDelete": False})
    assert api.get(f"/datasets/{dataset_ids['store']}").status_code == 200
    assert api.get(f"/datasets/{dataset_ids['reports']}").status_code == 404
    # a create of the same name refuses (it could be anyone's data); `adopt` takes the kept dataset over
    with pytest.raises(ProviderCallError, match=f"take it over with `adopt: {dataset_ids['store']}`"):
        datasets.create({"name": "store"})
    again, outputs = datasets.create({"name": "store", "adopt": dataset_ids["store"]})
    assert again == dataset_ids["store"] and outputs["datasetId"] == again


def test_an_empty_dataset_is_deleted_and_a_rename_is_in_place(datasets: Kind, api: httpx.Client) -> None:
    ident, state = datasets.create({"name": "scratch", "description": "tmp"})
    answer = datasets.diff(ident, state, {"name": "scratch-2", "description": "tmp"})
    assert answer.changes == "DIFF_SOME" and answer.replaces == []
    state = datasets.update(ident, state, {"name": "scratch-2", "description": "tmp"})
    assert api.get(f"/datasets/{ident}").json()["name"] == "scratch-2"
    _, _, inputs = datasets.read(ident, state)
    assert inputs["name"] == "scratch-2" and inputs["description"] == "tmp"
    datasets.delete(ident, state)
    assert api.get(f"/datasets/{ident}").status_code == 404
