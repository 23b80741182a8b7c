"""Workflows and their runs: shapes, validation, phases, needs, cancel, ordering, logs, create-model, datasets.

Every answer is also checked against the v1 contract by the ``api`` client (tests/emulator/contract.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.emulator import EmulatorProcess, wait_for

from .helpers import (
    container_job,
    create_model_job,
    error,
    finished_run,
    new_dataset,
    new_project,
    ok,
    workflow_spec,
)

PHASES = {"Initializing", "Submitting", "Pending", "Running", "Succeeded", "Skipped", "Failed", "Error", "Omitted"}
PHASES |= {"Canceled"}


def _workflow(api: httpx.Client, project_id: str, spec: dict[str, Any] | None = None, name: str = "train") -> str:
    body: dict[str, Any] = {"name": name, "projectId": project_id}
    if spec is not None:
        body["spec"] = spec
    workflow_id: str = ok(api.post("/workflows", json=body))["id"]
    return workflow_id


def _run(api: httpx.Client, workflow_id: str, spec: dict[str, Any], **body: Any) -> dict[str, Any]:
    run: dict[str, Any] = ok(api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec, **body}))
    return run


def _get(api: httpx.Client, workflow_id: str, number: int) -> dict[str, Any]:
    run: dict[str, Any] = ok(api.get(f"/workflows/{workflow_id}/runs/{number}"))
    return run


def _phase_is(api: httpx.Client, workflow_id: str, number: int, phase: str) -> dict[str, Any] | None:
    run = _get(api, workflow_id, number)
    return run if run["status"]["phase"] == phase else None


def _logs(api: httpx.Client, workflow_id: str, run_id: str | int) -> dict[str, list[str]]:
    jobs = ok(api.get(f"/workflows/{workflow_id}/runs/{run_id}/logs"))
    return {job["name"]: [line["message"] for line in job["logs"]] for job in jobs}


def test_workflow_objects_carry_only_v1_fields(api: httpx.Client) -> None:
    project_id = new_project(api)
    created = ok(api.post("/workflows", json={"name": "train", "projectId": project_id}))
    assert set(created) == {"id", "name", "dtCreated", "dtModified"}
    assert uuid.UUID(created["id"]) and created["dtCreated"] == created["dtModified"]
    with_spec = ok(api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": workflow_spec()}))
    assert set(with_spec) == {"id", "name", "dtCreated", "dtModified", "spec"} and with_spec["spec"] == workflow_spec()
    unnamed = ok(api.post("/workflows", json={"name": None, "projectId": project_id}))
    assert unnamed["name"] is None
    assert ok(api.get(f"/workflows/{created['id']}")) == created


def test_workflow_list_filters_by_project_and_is_a_plain_array(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    other = _workflow(api, new_project(api, "Other"), workflow_spec())
    assert [w["id"] for w in ok(api.get("/workflows", params={"projectId": project_id}))] == [workflow_id]
    assert {w["id"] for w in ok(api.get("/workflows"))} == {workflow_id, other}
    error(api.get("/workflows", params={"projectId": "pnothere"}), 404, "NOT_FOUND")


def test_update_renames_only_and_refuses_a_spec(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id, workflow_spec())
    renamed = ok(api.put(f"/workflows/{workflow_id}", json={"name": "renamed"}))
    assert renamed["name"] == "renamed" and renamed["spec"] == workflow_spec()
    assert renamed["dtModified"] >= renamed["dtCreated"]
    body = error(api.put(f"/workflows/{workflow_id}", json={"name": "x", "spec": {"jobs": {}}}), 400, "BAD_REQUEST")
    assert [issue["path"] for issue in body["issues"]] == ["spec"]
    assert "markDefault" in body["issues"][0]["message"]
    error(api.put(f"/workflows/{workflow_id}", json={}), 400, "BAD_REQUEST")
    error(api.put(f"/workflows/{workflow_id}", json={"name": 7}), 400, "BAD_REQUEST")
    assert ok(api.put(f"/workflows/{workflow_id}", json={"name": None}))["name"] is None
    assert ok(api.get(f"/workflows/{workflow_id}"))["spec"] == workflow_spec()


def test_delete_answers_the_id_and_ends_the_runs(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "600"}))
    assert ok(api.delete(f"/workflows/{workflow_id}")) == {"id": workflow_id}
    error(api.get(f"/workflows/{workflow_id}"), 404, "NOT_FOUND")
    error(api.get(f"/workflows/{workflow_id}/runs/1"), 404, "NOT_FOUND")
    error(api.delete(f"/workflows/{workflow_id}"), 404, "NOT_FOUND")
    error(api.post("/workflows", json={"name": "x", "projectId": "pnothere"}), 404, "NOT_FOUND")
    ok(api.delete(f"/projects/{project_id}"))


def test_create_bodies_are_checked(api: httpx.Client) -> None:
    project_id = new_project(api)
    body = error(api.post("/workflows", json={"projectId": project_id, "colour": "red"}), 400, "BAD_REQUEST")
    assert {(i["path"], i["message"]) for i in body["issues"]} == {
        ("name", "is required"),
        ("(body)", "unknown field(s): colour"),
    }
    body = error(api.post("/workflows", json={"name": "t", "projectId": project_id, "run": True}), 400, "BAD_REQUEST")
    assert [i["path"] for i in body["issues"]] == ["run"]
    body = error(api.post("/workflows", json={"name": "t", "projectId": 5, "spec": []}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {"projectId", "spec"}
    for raw in (b"{not json", b"\xff\xfe", b"[]", b"null"):
        response = api.post("/workflows", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
    workflow_id = _workflow(api, project_id)
    body = error(
        api.post(f"/workflows/{workflow_id}/runs", json={"spec": workflow_spec(), "run": True}), 400, "BAD_REQUEST"
    )
    assert [i["message"] for i in body["issues"]] == ["unknown field(s): run"]
    error(api.post(f"/workflows/{workflow_id}/runs", json={}), 400, "BAD_REQUEST")
    error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": "jobs: {}"}), 400, "BAD_REQUEST")
    error(
        api.post(f"/workflows/{workflow_id}/runs", json={"spec": workflow_spec(), "clusterId": 3}), 400, "BAD_REQUEST"
    )
    assert ok(api.get(f"/workflows/{workflow_id}/runs"))["items"] == []
    assert [w["id"] for w in ok(api.get("/workflows"))] == [workflow_id]


def test_spec_schema_follows_the_openapi_workflow_spec(api: httpx.Client) -> None:
    project_id = new_project(api)
    broken = {
        "colour": "red",
        "timeout": "10m",
        "jobs": {
            "train": container_job(
                colour="red",
                timeout="1h",
                outputs={"m": {"type": "model", "with": {"name": "resnet"}}},
                inputs={"repo": {"type": "volume"}},
            )
        },
    }
    body = error(
        api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": broken}), 400, "BAD_REQUEST"
    )
    assert {i["path"] for i in body["issues"]} == {
        "spec",
        "spec.timeout",
        "spec.jobs.train",
        "spec.jobs.train.timeout",
        "spec.jobs.train.outputs.m.type",
        "spec.jobs.train.inputs.repo.with",
    }
    every_key = {
        "context": {"event": {"github": {"ref": "main", "url": "https://github.com/a/b"}}},
        "defaults": {
            "clusterId": "clg07azjl",
            "env": {"A": "1"},
            "resources": {"instance-type": "C4", "container-registries": ["mine"]},
        },
        "inputs": {"note": {"type": "string", "with": {"value": "hi"}, "optional": True}},
        "on": {"github": {"branches": {"only": "main"}, "tags": {"include": ["v*"]}}},
        "timeout": 3600,
        "jobs": {
            "train": container_job(
                timeout=600,
                needs=[],
                inputs={"note": "workflow.inputs.note", "repo": {"type": "volume", "with": {}}},
                outputs={"alias": {"type": "alias"}, "log": {"type": "string"}},
            )
        },
    }
    ok(api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": every_key}))


def test_semantic_problems_are_listed_with_their_paths(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = {
        "inputs": {"data": {"type": "string", "with": {"value": "x"}}},
        "jobs": {
            "a": {"uses": "container@v1", "with": {"args": "python"}, "needs": ["ghost"]},
            "b": container_job(
                env={"EMULATOR_EXIT_CODE": "oops", "EMULATOR_RUN_SECONDS": "-1"},
                inputs={
                    "one": "workflow.inputs.missing",
                    "two": "c.outputs.out",
                    "three": "a.outputs.nothing",
                    "four": "just a string",
                    "five": {"type": "dataset", "with": {}},
                    "six": {"type": "string", "with": {}},
                },
                outputs={"ds": {"type": "dataset", "with": {"ref": "dsx:version"}}},
                needs=["a"],
            ),
            "c": container_job(outputs={"out": {"type": "string"}}),
            "s3": {
                "uses": "s3-download@v1",
                "with": {"url": "s3://b/", "access-key": "k"},
                "resources": {"instance-type": "C4"},
            },
        },
    }
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {
        "spec.jobs.a.needs",
        "spec.jobs.a.with.image",
        "spec.jobs.a.with.args",
        "spec.jobs.a.resources.instance-type",
        "spec.jobs.b.env.EMULATOR_EXIT_CODE",
        "spec.jobs.b.env.EMULATOR_RUN_SECONDS",
        "spec.jobs.b.inputs.one",
        "spec.jobs.b.inputs.two",
        "spec.jobs.b.inputs.three",
        "spec.jobs.b.inputs.four",
        "spec.jobs.b.inputs.five.with.ref",
        "spec.jobs.b.inputs.six.with.value",
        "spec.jobs.b.outputs.ds.with.ref",
        "spec.jobs.s3.with.secret-access-key",
    }
    messages = {i["path"]: i["message"] for i in body["issues"]}
    assert "needs" in messages["spec.jobs.b.inputs.two"] and "nothing" in messages["spec.jobs.b.inputs.three"]
    cyclic = {"jobs": {"a": container_job(needs=["b"]), "b": container_job(needs=["a"])}}
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": cyclic}), 400, "BAD_REQUEST")
    assert "cycle" in body["issues"][0]["message"]
    assert ok(api.get(f"/workflows/{workflow_id}/runs"))["items"] == []


def test_create_model_jobs_are_checked(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    bad = create_model_job("train", {"type": "string", "with": {"value": "x"}}, "m", model_type="PyTorch")
    bad["with"].pop("name")
    bad["outputs"] = {"model-id": {"type": "volume"}, "extra": {"type": "string"}}
    spec = {"jobs": {"train": container_job(), "register": bad}}
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {
        "spec.jobs.register.with.name",
        "spec.jobs.register.with.type",
        "spec.jobs.register.inputs.model",
        "spec.jobs.register.outputs.model-id",
        "spec.jobs.register.outputs.extra",
    }
    no_input = create_model_job("train", "train.outputs.out", "m")
    del no_input["inputs"]
    body = error(
        api.post(f"/workflows/{workflow_id}/runs", json={"spec": {"jobs": {"train": container_job(), "r": no_input}}}),
        400,
        "BAD_REQUEST",
    )
    assert [i["path"] for i in body["issues"]] == ["spec.jobs.r.inputs.model"]


def test_runs_are_numbered_and_go_pending_running_succeeded(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id, workflow_spec())
    first = _run(api, workflow_id, workflow_spec())
    assert first["id"] == 1 and uuid.UUID(first["uuid"])
    assert set(first) == {"id", "uuid", "spec", "status"}
    assert first["status"] | {"logId": None} == {
        "phase": "Pending",
        "logId": None,
        "jobs": {"train": {"phase": "Pending", "logId": first["status"]["jobs"]["train"]["logId"]}},
    }
    running = wait_for(lambda: _phase_is(api, workflow_id, 1, "Running"))
    assert "started" in running["status"] and "finished" not in running["status"]
    assert running["status"]["jobs"]["train"]["phase"] == "Running"
    done = wait_for(lambda: finished_run(api, workflow_id, 1))
    assert done["status"]["phase"] == "Succeeded" and done["status"]["jobs"]["train"]["phase"] == "Succeeded"
    assert "message" not in done["status"] and done["status"]["started"] < done["status"]["finished"]
    assert done["uuid"] == first["uuid"] and done["status"]["logId"] == first["status"]["logId"]
    assert _run(api, workflow_id, workflow_spec())["id"] == 2
    runs = ok(api.get(f"/workflows/{workflow_id}/runs"))["items"]
    assert [r["id"] for r in runs] == [1, 2]
    error(api.get(f"/workflows/{workflow_id}/runs/9"), 404, "NOT_FOUND")
    other = _workflow(api, project_id)
    assert _run(api, other, workflow_spec())["id"] == 1  # numbers are per workflow


def test_jobs_run_after_the_jobs_they_need(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = {
        "jobs": {
            "prepare": container_job(seconds=2),
            "train": container_job(seconds=3600, needs=["prepare"]),
            "lint": container_job(seconds=1),
            "report": container_job(seconds=1, needs=["train", "lint"]),
        }
    }
    _run(api, workflow_id, spec)
    early = wait_for(lambda: _phase_is(api, workflow_id, 1, "Running"))
    assert early["status"]["jobs"]["report"]["phase"] == "Pending"
    emulator.advance(4 * 3600)  # train's whole hour, whatever the time scale
    jobs = wait_for(lambda: finished_run(api, workflow_id, 1))["status"]["jobs"]
    assert {job["phase"] for job in jobs.values()} == {"Succeeded"}
    assert jobs["prepare"]["started"] == jobs["lint"]["started"]
    assert jobs["train"]["started"] == jobs["prepare"]["finished"]
    assert jobs["report"]["started"] == max(jobs["train"]["finished"], jobs["lint"]["finished"])


def test_a_failing_middle_job_fails_the_run_and_skips_its_dependants(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = {
        "jobs": {
            "prepare": container_job(seconds=1),
            "train": container_job(seconds=1, exit_code=3, needs=["prepare"]),
            "evaluate": container_job(seconds=1, needs=["train"]),
            "slow": container_job(seconds=600),
        }
    }
    _run(api, workflow_id, spec)
    run = wait_for(lambda: finished_run(api, workflow_id, 1))
    status = run["status"]
    assert status["phase"] == "Failed" and status["message"] == "job 'train' failed: exited with code 3"
    jobs = status["jobs"]
    assert jobs["prepare"]["phase"] == "Succeeded"
    assert jobs["train"]["phase"] == "Failed" and jobs["train"]["message"] == "exited with code 3"
    assert jobs["evaluate"]["phase"] == "Skipped" and "train" in jobs["evaluate"]["message"]
    assert "started" not in jobs["evaluate"] and "finished" not in jobs["evaluate"]
    assert jobs["slow"]["phase"] == "Canceled" and jobs["slow"]["finished"] == status["finished"]
    assert status["finished"] == jobs["train"]["finished"]


def test_cancel_stops_an_active_run_and_is_refused_for_a_finished_one(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = workflow_spec(env={"EMULATOR_RUN_SECONDS": "600"}, model="never")
    _run(api, workflow_id, spec)
    wait_for(lambda: _phase_is(api, workflow_id, 1, "Running"))
    canceled = ok(api.post(f"/workflows/{workflow_id}/runs/1/cancel"))
    assert canceled["id"] == 1
    assert canceled["status"]["phase"] == "Canceled" and canceled["status"]["message"] == "canceled by request"
    assert canceled["status"]["jobs"]["train"]["phase"] == "Canceled"
    assert canceled["status"]["jobs"]["register"]["phase"] == "Canceled"
    assert ok(api.post(f"/workflows/{workflow_id}/runs/1/cancel")) == canceled
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "600"}))
    pending = ok(api.post(f"/workflows/{workflow_id}/runs/2/cancel"))  # before it even started
    assert pending["status"]["phase"] == "Canceled" and "started" not in pending["status"]
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "0.1"}))
    wait_for(lambda: finished_run(api, workflow_id, 3))
    error(api.post(f"/workflows/{workflow_id}/runs/3/cancel"), 409, "CONFLICT")
    error(api.post(f"/workflows/{workflow_id}/runs/4/cancel"), 404, "NOT_FOUND")
    assert ok(api.get("/models", params={"projectId": project_id}))["items"] == []


def test_run_lists_are_pages_ordered_by_creation_or_modification(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "10"}))
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "0"}))
    _run(api, workflow_id, workflow_spec(env={"EMULATOR_RUN_SECONDS": "0"}))
    wait_for(lambda: all(finished_run(api, workflow_id, n) for n in (1, 2, 3)))

    def numbers(**params: str | int) -> list[int]:
        found: list[int] = []
        query: dict[str, str | int] = {"limit": 1, **params}
        while True:
            page = ok(api.get(f"/workflows/{workflow_id}/runs", params=query))
            found += [run["id"] for run in page["items"]]
            if not page["hasMore"]:
                assert "nextPage" not in page
                return found
            query["after"] = page["nextPage"]

    assert [r["id"] for r in ok(api.get(f"/workflows/{workflow_id}/runs"))["items"]] == [1, 2, 3]  # default: asc
    assert numbers() == [1, 2, 3]
    assert numbers(order="desc") == [3, 2, 1]
    assert numbers(orderBy="dtModified") == [2, 3, 1]  # run 1 finished last
    assert numbers(orderBy="dtModified", order="desc") == [1, 3, 2]
    body = error(api.get(f"/workflows/{workflow_id}/runs", params={"orderBy": "name"}), 400, "BAD_REQUEST")
    assert body["issues"][0]["path"] == "orderBy"
    created_cursor = ok(api.get(f"/workflows/{workflow_id}/runs", params={"limit": 1}))["nextPage"]
    mixed = {"orderBy": "dtModified", "after": created_cursor}
    error(api.get(f"/workflows/{workflow_id}/runs", params=mixed), 400, "BAD_REQUEST")


def test_logs_grow_as_the_jobs_progress(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = {
        "jobs": {
            "train": container_job(seconds=3600, args=["python", "train.py", "--epochs", "5"]),
            "evaluate": container_job(seconds=3600, exit_code=2, needs=["train"], args=["python", "eval.py"]),
        }
    }
    run = _run(api, workflow_id, spec)
    jobs = ok(api.get(f"/workflows/{workflow_id}/runs/{run['uuid']}/logs"))
    assert (jobs[1]["name"], jobs[1]["phase"], jobs[1]["logs"]) == ("evaluate", "Pending", []), "no line before a start"
    assert {job["workflowRunId"] for job in jobs} == {run["uuid"]}
    assert [job["id"] for job in jobs] == [run["status"]["jobs"][name]["logId"] for name in ("train", "evaluate")]
    wait_for(lambda: _phase_is(api, workflow_id, 1, "Running"))
    assert _logs(api, workflow_id, run["uuid"]) == {
        "train": [
            "Starting job 'train' (container@v1) on A100-80G",
            "Running pytorch/pytorch:2.3.0: python train.py --epochs 5",
        ],
        "evaluate": [],
    }
    emulator.advance(2 * 3600 * 2)  # both jobs' whole length, whatever the time scale: no waiting
    final = _logs(api, workflow_id, run["uuid"])
    assert final["train"][-1] == "Job 'train' succeeded: exited with code 0"
    assert final["evaluate"] == [
        "Starting job 'evaluate' (container@v1) on A100-80G",
        "Running pytorch/pytorch:2.3.0: python eval.py",
        "Job 'evaluate' failed: exited with code 2",
    ]
    assert _logs(api, workflow_id, 1) == final  # the run number works too
    detail = ok(api.get(f"/workflows/{workflow_id}/runs/{run['uuid']}/logs"))
    assert detail[1]["message"] == "exited with code 2" and detail[1]["dtFinished"] > detail[1]["dtStarted"]
    assert all(line["jobId"] == detail[0]["id"] for line in detail[0]["logs"])
    error(api.get(f"/workflows/{workflow_id}/runs/{uuid.uuid4()}/logs"), 404, "NOT_FOUND")
    error(api.get(f"/workflows/{workflow_id}/runs/7/logs"), 404, "NOT_FOUND")


def test_create_model_registers_a_model_when_its_job_succeeds(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    _run(api, workflow_id, workflow_spec(model="resnet50"))
    failing = workflow_spec(model="broken", env={"EMULATOR_EXIT_CODE": "1"})
    _run(api, workflow_id, failing)
    assert ok(api.get("/models", params={"projectId": project_id}))["items"] == []
    first = wait_for(lambda: finished_run(api, workflow_id, 1))
    wait_for(lambda: finished_run(api, workflow_id, 2))
    register = first["status"]["jobs"]["register"]
    assert register["phase"] == "Succeeded" and set(register["outputs"]) == {"model-id"}
    model_id = register["outputs"]["model-id"]
    models = ok(api.get("/models", params={"projectId": project_id}))["items"]
    assert [m["id"] for m in models] == [model_id]
    model = ok(api.get(f"/models/{model_id}"))
    assert model == models[0]
    assert model["name"] == "resnet50" and model["projectId"] == project_id and model["isPublic"] is False
    assert model["storageProviderId"] is None and model["teamId"] == "team-dev"
    assert model["dtCreated"] == register["finished"] and workflow_id in model["description"]
    assert "outputs" not in first["status"]["jobs"]["train"]  # a volume output has no value to show
    assert len(ok(api.get("/models"))["items"]) == 1  # reading again registers nothing twice
    assert _get(api, workflow_id, 1) == first


def test_create_model_from_a_dataset_version(api: httpx.Client) -> None:
    project_id = new_project(api)
    dataset_id, version = new_dataset(api, "weights")
    workflow_id = _workflow(api, project_id)
    spec = {
        "defaults": {"resources": {"instance-type": "C4"}},
        "jobs": {
            "register": {
                "uses": "create-model@v1",
                "with": {"name": "from-dataset", "type": "ONNX"},
                "inputs": {"model": {"type": "dataset", "with": {"ref": f"{dataset_id}:{version}"}}},
                "outputs": {"model-id": {"type": "string"}},
            }
        },
    }
    _run(api, workflow_id, spec)
    job = wait_for(lambda: finished_run(api, workflow_id, 1))["status"]["jobs"]["register"]
    assert job["inputs"] == {"model": {"dataset": {"id": f"{dataset_id}:{version}"}}}
    model = ok(api.get(f"/models/{job['outputs']['model-id']}"))
    assert model["name"] == "from-dataset" and "ONNX" in model["description"]


def test_a_dataset_output_commits_a_new_version_when_its_job_succeeds(api: httpx.Client) -> None:
    project_id = new_project(api)
    source_id, source_version = new_dataset(api, "raw")
    target_id, _ = new_dataset(api, "processed", committed_version=False)
    workflow_id = _workflow(api, project_id)
    spec = {
        "inputs": {"raw": {"type": "dataset", "with": {"ref": "raw"}}},  # by name, as the docs allow
        "jobs": {
            "process": container_job(
                seconds=1,
                inputs={"raw": "workflow.inputs.raw"},
                outputs={"processed": {"type": "dataset", "with": {"ref": target_id}}},
            ),
            "check": container_job(seconds=1, needs=["process"], inputs={"data": "process.outputs.processed"}),
        },
    }
    run = _run(api, workflow_id, spec)
    assert run["status"]["inputs"] == {
        "raw": {"with": {"ref": "raw"}, "dataset": {"id": f"{source_id}:{source_version}"}}
    }
    assert ok(api.get(f"/datasets/{target_id}/versions"))["items"] == []
    done = wait_for(lambda: finished_run(api, workflow_id, 1))
    versions = ok(api.get(f"/datasets/{target_id}/versions"))["items"]
    assert len(versions) == 1 and versions[0]["isCommitted"] is True
    message = versions[0]["message"]
    assert "'processed'" in message and "'process'" in message and "run 1" in message and workflow_id in message
    written = f"{target_id}:{versions[0]['version']}"
    process = done["status"]["jobs"]["process"]
    assert process["outputs"] == {"processed": {"dataset": {"id": written, "isCommitted": True}}}
    assert process["inputs"] == {"raw": {"dataset": {"id": f"{source_id}:{source_version}"}}}
    assert done["status"]["jobs"]["check"]["inputs"] == {"data": {"dataset": {"id": written}}}
    assert versions[0]["dtCreated"] == process["finished"]
    _run(api, workflow_id, spec)
    wait_for(lambda: finished_run(api, workflow_id, 2))
    assert len(ok(api.get(f"/datasets/{target_id}/versions"))["items"]) == 2  # a new version per run


def test_datasets_a_run_names_must_exist_and_be_committed(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    dataset_id, _ = new_dataset(api, "empty", committed_version=False)
    draft = ok(api.post(f"/datasets/{dataset_id}/versions", json={}))["version"]
    spec = {
        "inputs": {"given": {"type": "dataset"}},
        "jobs": {
            "train": container_job(
                inputs={
                    "a": {"type": "dataset", "with": {"ref": "dsnothere"}},
                    "b": {"type": "dataset", "with": {"ref": f"{dataset_id}:{draft}"}},
                    "c": {"type": "dataset", "with": {"ref": f"{dataset_id}:nover00"}},
                },
                outputs={"out": {"type": "dataset", "with": {"ref": "nothere"}}},
            )
        },
    }
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": spec}), 400, "BAD_REQUEST")
    assert {i["path"]: i["message"] for i in body["issues"]} == {
        "spec.inputs.given.with.ref": "names no dataset: give with.ref in the spec or the run",
        "spec.jobs.train.inputs.a.with.ref": "dataset 'dsnothere' not found",
        "spec.jobs.train.inputs.b.with.ref": f"version {draft!r} of dataset {dataset_id!r} is not committed",
        "spec.jobs.train.inputs.c.with.ref": f"dataset {dataset_id!r} has no version 'nover00'",
        "spec.jobs.train.outputs.out.with.ref": "dataset 'nothere' not found",
    }
    fine = {
        "inputs": {"given": {"type": "dataset"}},
        "jobs": {"train": container_job(inputs={"g": "workflow.inputs.given"})},
    }
    run_inputs = {"given": {"type": "dataset", "with": {"ref": dataset_id}}}
    run = _run(api, workflow_id, fine, inputs=run_inputs)  # the run's inputs give the value
    assert run["status"]["inputs"]["given"]["dataset"] == {"id": dataset_id}  # no committed version yet
    wrong = {"given": {"type": "string", "with": {"value": "x"}}, "extra": {"type": "string", "with": {}}}
    body = error(api.post(f"/workflows/{workflow_id}/runs", json={"spec": fine, "inputs": wrong}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {"inputs.given.type", "inputs.extra"}
    body = error(
        api.post(f"/workflows/{workflow_id}/runs", json={"spec": fine, "inputs": {"given": {}}}), 400, "BAD_REQUEST"
    )
    assert [i["path"] for i in body["issues"]] == ["inputs.given.type"]


def test_run_options_cluster_meta_and_mark_default(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id, workflow_spec())
    other_spec = workflow_spec(env={"EMULATOR_RUN_SECONDS": "1"})
    run = _run(api, workflow_id, other_spec, clusterId="clg07azjl", meta={"source": "test"}, markDefault=False)
    assert run["cluster"] == {"id": "clg07azjl"} and run["meta"] == {"source": "test"}
    assert ok(api.get(f"/workflows/{workflow_id}"))["spec"] == workflow_spec()
    with_default_cluster = {**other_spec, "defaults": {"clusterId": "clother01"}}
    assert _run(api, workflow_id, with_default_cluster, markDefault=True)["cluster"] == {"id": "clother01"}
    workflow = ok(api.get(f"/workflows/{workflow_id}"))
    assert workflow["spec"] == with_default_cluster and workflow["dtModified"] > workflow["dtCreated"]


def test_creating_a_workflow_can_start_its_first_run(api: httpx.Client) -> None:
    project_id = new_project(api)
    body = {"name": "train", "projectId": project_id, "spec": workflow_spec(), "run": True, "meta": {"k": "v"}}
    created = ok(api.post("/workflows", json=body))
    assert created["run"]["id"] == 1 and created["run"]["status"]["phase"] == "Pending"
    assert created["run"]["meta"] == {"k": "v"}
    assert "run" not in ok(api.get(f"/workflows/{created['id']}"))
    assert wait_for(lambda: finished_run(api, created["id"], 1))["uuid"] == created["run"]["uuid"]
    spec = workflow_spec()
    spec["jobs"]["train"]["inputs"] = {"d": {"type": "dataset", "with": {"ref": "dsnothere"}}}
    error(
        api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": spec, "run": True}),
        400,
        "BAD_REQUEST",
    )
    assert len(ok(api.get("/workflows"))) == 1  # a refused run leaves no workflow behind


def test_a_dataset_in_use_by_an_active_run_cannot_be_deleted(api: httpx.Client) -> None:
    project_id = new_project(api)
    dataset_id, _ = new_dataset(api)
    workflow_id = _workflow(api, project_id)
    spec = {
        "jobs": {"train": container_job(seconds=600, inputs={"d": {"type": "dataset", "with": {"ref": dataset_id}}})}
    }
    _run(api, workflow_id, spec)
    body = error(api.delete(f"/datasets/{dataset_id}"), 409, "CONFLICT")
    assert body["details"] == {"runs": [f"workflow {workflow_id} run 1"]}
    ok(api.post(f"/workflows/{workflow_id}/runs/1/cancel"))
    assert ok(api.delete(f"/datasets/{dataset_id}")) == {"id": dataset_id}
    assert ok(api.get(f"/workflows/{workflow_id}/runs/1"))["status"]["phase"] == "Canceled"


def test_every_phase_is_from_the_v1_enum(api: httpx.Client) -> None:
    project_id = new_project(api)
    workflow_id = _workflow(api, project_id)
    spec = {"jobs": {"a": container_job(seconds=1, exit_code=1), "b": container_job(needs=["a"])}}
    _run(api, workflow_id, spec)
    run = wait_for(lambda: finished_run(api, workflow_id, 1))
    seen = {run["status"]["phase"], *(job["phase"] for job in run["status"]["jobs"].values())}
    assert seen == {"Failed", "Skipped"} and seen <= PHASES
