"""Workflows and their runs: validation, phases, hooks, cancel, model registration."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.emulator import wait_for

from .helpers import error, new_project, ok, workflow_spec


def _workflow(api: httpx.Client, project_id: str, spec: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"name": "train", "projectId": project_id}
    if spec is not None:
        body["spec"] = spec
    workflow_id: str = ok(api.post("/workflows", json=body))["id"]
    return workflow_id


def _run(api: httpx.Client, workflow_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = ok(api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec}))
    return run


def _finished(api: httpx.Client, workflow_id: str, seq: int) -> dict[str, Any] | None:
    run: dict[str, Any] = ok(api.get(f"/workflows/{workflow_id}/runs/{seq}"))
    return run if run["status"]["finished"] else None


def test_workflow_crud_and_plain_array_listing(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    other = _workflow(api, new_project(api, "Other"), workflow_spec())
    assert [w["id"] for w in ok(api.get("/workflows", params={"projectId": project_id}))] == [workflow_id]
    assert {w["id"] for w in ok(api.get("/workflows"))} == {workflow_id, other}
    updated = ok(api.put(f"/workflows/{workflow_id}", json={"name": "renamed", "spec": workflow_spec()}))
    assert updated["name"] == "renamed" and updated["spec"] == workflow_spec()
    assert ok(api.get(f"/workflows/{workflow_id}"))["name"] == "renamed"
    ok(api.delete(f"/workflows/{workflow_id}"))
    error(api.get(f"/workflows/{workflow_id}"), 404, "NOT_FOUND")
    error(api.delete(f"/workflows/{workflow_id}"), 404, "NOT_FOUND")
    error(api.post("/workflows", json={"name": "x", "projectId": "pnothere"}), 404, "NOT_FOUND")


def test_invalid_specs_list_each_problem(api: httpx.Client) -> None:
    project_id = new_project(api)
    schema_broken = {"jobs": {"train": {"uses": "container@v1", "with": {"args": "python"}, "colour": "red"}}}
    body = error(
        api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": schema_broken}), 400, "BAD_REQUEST"
    )
    assert {i["path"] for i in body["issues"]} == {"spec.jobs.train", "spec.jobs.train.with.args"}
    workflow_id = _workflow(api, project_id)
    semantic = {
        "jobs": {
            "a": {"uses": "container@v1", "with": {}, "needs": ["ghost"]},
            "b": {
                "uses": "container@v1",
                "with": {"image": "x"},
                "resources": {"instance-type": "C4"},
                "env": {"EMULATOR_EXIT_CODE": "oops"},
            },
        }
    }
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": semantic}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {
        "spec.jobs.a.needs",
        "spec.jobs.a.with.image",
        "spec.jobs.a.resources.instance-type",
        "spec.jobs.b.env.EMULATOR_EXIT_CODE",
    }
    cyclic = workflow_spec(
        extra_jobs={
            "eval": {
                "uses": "container@v1",
                "with": {"image": "x"},
                "needs": ["train"],
                "resources": {"instance-type": "C4"},
            }
        }
    )
    cyclic["jobs"]["train"]["needs"] = ["eval"]
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": cyclic}), 400, "BAD_REQUEST")
    assert "cycle" in body["issues"][0]["message"]
    error(api.post(f"/workflows/{workflow_id}/runs", json={}), 400, "BAD_REQUEST")
    assert ok(api.get(f"/workflows/{workflow_id}/runs"))["items"] == []


def test_runs_are_numbered_and_go_pending_running_succeeded(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id, workflow_spec())
    first = _run(api, workflow_id, workflow_spec())
    assert first["seq"] == 1 and first["status"]["phase"] == "Pending"
    assert first["status"]["jobs"]["train"]["phase"] == "Pending"
    wait_for(lambda: ok(api.get(f"/workflows/{workflow_id}/runs/1"))["status"]["phase"] == "Running")
    done = wait_for(lambda: _finished(api, workflow_id, 1))
    assert done["status"]["phase"] == "Succeeded" and done["status"]["jobs"]["train"]["phase"] == "Succeeded"
    assert done["status"]["started"] < done["status"]["finished"]
    assert _run(api, workflow_id, workflow_spec())["seq"] == 2
    runs = ok(api.get(f"/workflows/{workflow_id}/runs"))["items"]
    assert [r["seq"] for r in runs] == [1, 2]
    error(api.get(f"/workflows/{workflow_id}/runs/9"), 404, "NOT_FOUND")


def test_a_non_zero_exit_code_fails_the_run_with_a_message_and_skips_dependents(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = workflow_spec(
        env={"EMULATOR_EXIT_CODE": "3"},
        extra_jobs={
            "evaluate": {
                "uses": "container@v1",
                "with": {"image": "x"},
                "needs": ["train"],
                "resources": {"instance-type": "C4"},
            },
        },
    )
    _run(api, workflow_id, spec)
    run = wait_for(lambda: _finished(api, workflow_id, 1))
    assert run["status"]["phase"] == "Failed"
    assert "train" in run["status"]["message"] and "3" in run["status"]["message"]
    assert run["status"]["jobs"]["train"] | {"started": None, "finished": None} == {
        "phase": "Failed",
        "exitCode": 3,
        "message": "exited with code 3",
        "started": None,
        "finished": None,
    }
    assert run["status"]["jobs"]["evaluate"]["phase"] == "Skipped"


def test_cancel_stops_an_active_run_and_is_refused_for_a_finished_one(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "600"}, model="never"))
    wait_for(lambda: ok(api.get(f"/workflows/{workflow_id}/runs/1"))["status"]["phase"] == "Running")
    cancelled = ok(api.post(f"/workflows/{workflow_id}/runs/1/cancel"))
    assert cancelled["status"]["phase"] == "Cancelled"
    assert cancelled["status"]["jobs"]["train"]["phase"] == "Cancelled"
    assert ok(api.post(f"/workflows/{workflow_id}/runs/1/cancel"))["status"]["phase"] == "Cancelled"
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "0.1"}))
    wait_for(lambda: _finished(api, workflow_id, 2))
    error(api.post(f"/workflows/{workflow_id}/runs/2/cancel"), 409, "CONFLICT")
    assert ok(api.get("/models", params={"projectId": project_id}))["items"] == []


def test_a_model_output_registers_a_model_when_the_run_succeeds(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(model="resnet50"))
    _run(api, workflow_id, workflow_spec(model="broken", env={"EMULATOR_EXIT_CODE": "1"}))
    assert ok(api.get("/models", params={"projectId": project_id}))["items"] == []
    wait_for(lambda: _finished(api, workflow_id, 1) and _finished(api, workflow_id, 2))
    models = ok(api.get("/models", params={"projectId": project_id}))["items"]
    assert [m["name"] for m in models] == ["resnet50"]
    assert models[0]["projectId"] == project_id and workflow_id in models[0]["description"]
    # Reading again registers nothing twice.
    assert len(ok(api.get("/models"))["items"]) == 1


def test_deleting_a_workflow_ends_its_runs(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "600"}))
    ok(api.delete(f"/workflows/{workflow_id}"))
    error(api.get(f"/workflows/{workflow_id}/runs/1"), 404, "NOT_FOUND")
    ok(api.delete(f"/projects/{project_id}"))
