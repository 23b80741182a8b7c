"""The contract checker itself, and one tour that makes every operation answer 200 in every state it has.

Every other emulator test also runs through the checker (the ``api`` fixture); this file proves that the
checker catches breaches and that no operation of the contract goes unchecked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.emulator import wait_for

from .contract import all_operations, operation_for, recording, validate_error, validate_query, validate_response
from .helpers import container_job, create_model_job, deployment_config, error, new_dataset, ok, upsert


def test_the_checker_catches_breaches() -> None:
    with pytest.raises(AssertionError, match="dtDeleted"):
        validate_response(
            "projects-get", {"id": "p1", "name": "a", "dtCreated": "2024-01-01T00:00:00Z", "dtDeleted": None}
        )
    with pytest.raises(AssertionError, match="date-time"):
        validate_response("projects-get", {"id": "p1", "name": "a", "dtCreated": "yesterday"})
    with pytest.raises(AssertionError, match="uuid"):
        validate_response("workflows-delete", {"id": "w123"})
    with pytest.raises(AssertionError, match="nextPage"):
        validate_response("projects-list", {"hasMore": False, "items": [], "nextPage": None})
    with pytest.raises(AssertionError, match="seq"):
        validate_response("workflowRuns-get", {"id": 1, "uuid": "u", "seq": 1})
    with pytest.raises(AssertionError, match="order"):
        validate_query("projects-list", {"order": "up"})
    with pytest.raises(AssertionError, match="issues"):
        validate_error({"code": "BAD_REQUEST", "message": "x", "issues": [{"path": "a"}]})
    validate_query("deployments-list", {"projectId": "p1", "limit": "5"})  # undocumented parameters are skipped
    assert operation_for("GET", "/workflows/w/runs/3") == "workflowRuns-get"
    assert operation_for("GET", "/workflows/w/runs/u/logs") == "workflowRunLogs-list"
    assert operation_for("GET", "/projects/p/deployments") == "projectDeployments-list"
    assert operation_for("PATCH", "/projects") is None


def _runs_until(api: httpx.Client, url: str, phase: str, seen: set[str]) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        run: dict[str, Any] = ok(api.get(url))
        seen.add(run["status"]["phase"])
        seen.update(job["phase"] for job in run["status"]["jobs"].values())
        return run if run["status"]["phase"] == phase else None

    found: dict[str, Any] = wait_for(reached)
    return found


def test_every_operation_answers_within_the_contract(api: httpx.Client) -> None:
    with recording() as validated:
        _tour(api)
    assert all_operations() - validated == set()


def _tour(api: httpx.Client) -> None:
    ok(api.get("/auth/session"))
    project = ok(api.post("/projects", json={"name": "Tour"}))["id"]
    ok(api.put(f"/projects/{project}", json={"name": "Tour 2"}))
    ok(api.get(f"/projects/{project}"))
    ok(api.get("/projects", params={"limit": 1, "order": "desc", "orderBy": "dtCreated"}))

    ok(api.post(f"/projects/{project}/secrets", json={"name": "TOKEN", "value": "v"}))
    ok(api.patch(f"/projects/{project}/secrets/TOKEN", json={"value": "w"}))
    ok(api.get(f"/projects/{project}/secrets/TOKEN"))
    ok(api.get(f"/projects/{project}/secrets"))
    ok(api.post(f"/projects/{project}/tags", json={"name": "gradient-stacks-tour"}))
    ok(api.get(f"/projects/{project}/tags"))
    ok(api.delete(f"/projects/{project}/tags", params={"name": "gradient-stacks-tour"}))

    # Datasets and versions, one of them written by a job below.
    dataset, version = new_dataset(api, "raw")
    ok(api.get(f"/datasets/{dataset}"))
    ok(api.put(f"/datasets/{dataset}", json={"description": "described", "name": "raw-renamed"}))
    ok(api.put(f"/datasets/{dataset}", json={"description": {}}))
    ok(api.get("/datasets", params={"privacy": "PRIVATE"}))
    ok(api.get(f"/datasets/{dataset}/versions/{version}"))
    ok(api.get(f"/datasets/{dataset}/versions", params={"limit": 5}))

    # Runs in every phase the emulator uses, jobs skipped and canceled, outputs, logs.
    phases: set[str] = set()
    spec = {
        "defaults": {"resources": {"instance-type": "C4"}},
        "jobs": {
            "process": container_job(
                seconds=1,
                inputs={"raw": {"type": "dataset", "with": {"ref": f"{dataset}:{version}"}}},
                outputs={"out": {"type": "dataset", "with": {"ref": dataset}}},
            ),
            "register": create_model_job("process", "process.outputs.out", "tour-model"),
        },
    }
    created = ok(api.post("/workflows", json={"name": "tour", "projectId": project, "spec": spec, "run": True}))
    workflow = created["id"]
    phases.add(created["run"]["status"]["phase"])
    ok(api.get(f"/workflows/{workflow}/runs/1/logs"))
    _runs_until(api, f"/workflows/{workflow}/runs/1", "Running", phases)
    ok(api.get(f"/workflows/{workflow}/runs/{created['run']['uuid']}/logs"))
    done = _runs_until(api, f"/workflows/{workflow}/runs/1", "Succeeded", phases)
    ok(api.get(f"/workflows/{workflow}/runs/1/logs"))
    failing = {"jobs": {"a": container_job(seconds=1, exit_code=4), "b": container_job(needs=["a"])}}
    ok(api.post(f"/workflows/{workflow}/runs", json={"spec": failing, "meta": {"why": "tour"}}))
    _runs_until(api, f"/workflows/{workflow}/runs/2", "Failed", phases)
    ok(api.get(f"/workflows/{workflow}/runs/2/logs"))
    slow = {"jobs": {"a": container_job(seconds=600), "b": container_job(needs=["a"])}}
    ok(api.post(f"/workflows/{workflow}/runs", json={"spec": slow, "clusterId": "clg07azjl"}))
    _runs_until(api, f"/workflows/{workflow}/runs/3", "Running", phases)
    phases.add(ok(api.post(f"/workflows/{workflow}/runs/3/cancel"))["status"]["phase"])
    ok(api.get(f"/workflows/{workflow}/runs/3/logs"))
    _runs_until(api, f"/workflows/{workflow}/runs/3", "Canceled", phases)
    assert phases == {"Pending", "Running", "Succeeded", "Failed", "Skipped", "Canceled"}
    ok(api.get(f"/workflows/{workflow}/runs", params={"orderBy": "dtModified", "order": "desc", "limit": 2}))
    ok(api.get("/workflows", params={"projectId": project}))
    ok(api.get(f"/workflows/{workflow}"))
    ok(api.put(f"/workflows/{workflow}", json={"name": "tour 2"}))
    ok(api.get(f"/datasets/{dataset}/versions"))

    # Models: registered by the run, and made directly.
    model_id = done["status"]["jobs"]["register"]["outputs"]["model-id"]
    ok(api.get(f"/models/{model_id}"))
    ok(api.get("/models", params={"projectId": project}))
    made = ok(api.post("/models", json={"name": "made", "isPublic": False, "description": None}))["id"]

    # Deployments in every state: not applied, starting, ready and healthy, crashing, disabled, rolling out,
    # and configs of each apiVersion.
    ready = upsert(api, project, deployment_config("ready", resources={"replicas": 2}))
    ok(api.get(f"/deployments/{ready}"))  # not applied yet
    ok(api.get(f"/deployments/{ready}/runs"))
    crash = upsert(api, project, deployment_config("crash", env=[{"name": "EMULATOR_CRASH", "value": "1"}]))
    disabled = upsert(api, project, deployment_config("off", enabled=False))
    legacy = {"apiVersion": "v0alpha0", "name": "legacy", "image": "nginx", "resources": {"instanceType": "C4"}}
    legacy_id = upsert(api, project, legacy)
    integration = [{"type": "model", "id": model_id, "name": "tour-model"}]
    alpha = upsert(api, project, deployment_config("alpha", apiVersion="v0alpha1", integrations=integration))
    states: set[str] = set()

    def healthy(deployment_id: str) -> bool:
        for run in ok(api.get(f"/deployments/{deployment_id}/runs", params={"limit": 2})):
            states.update(instance["state"] for instance in run["instances"])
        return "dtHealthy" in ok(api.get(f"/deployments/{deployment_id}"))["latestSpec"]

    for deployment_id in (ready, disabled, legacy_id, alpha):
        wait_for(lambda deployment_id=deployment_id: healthy(deployment_id))
    wait_for(lambda: healthy(crash) or "errored" in states)
    upsert(api, project, deployment_config("ready", env=[{"name": "EMULATOR_READY_SECONDS", "value": "60"}]))
    wait_for(lambda: len(ok(api.get(f"/deployments/{ready}/runs"))) == 2)  # the new spec beside the old one
    healthy(ready)
    assert states == {"starting", "running", "errored"}
    ok(api.get(f"/deployments/{ready}/history", params={"order": "desc"}))
    ok(api.get("/deployments", params={"limit": 3}))
    ok(api.get(f"/projects/{project}/deployments", params={"name": "ready"}))

    # Deletes, and the error body of a refusal.
    error(api.delete(f"/projects/{project}"), 409, "CONFLICT")
    for deployment_id in (ready, crash, disabled, legacy_id, alpha):
        ok(api.delete(f"/deployments/{deployment_id}"))
    ok(api.delete(f"/workflows/{workflow}"))
    ok(api.delete(f"/models/{made}"))
    ok(api.delete(f"/datasets/{dataset}"))
    ok(api.delete(f"/projects/{project}/secrets/TOKEN"))
    ok(api.delete(f"/projects/{project}"))
