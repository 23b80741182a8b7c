"""Deployments: the upsert, validation, reads, the clock-driven lifecycle and its hooks."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.emulator import EmulatorProcess, wait_for

from .contract import checked_client, documented_query
from .helpers import deployment_config, error, new_project, ok, upsert

ENDPOINT = re.compile(r"^d[a-z0-9]+\.clemulatr\.paperspacegradient\.invalid$")


def _deployment(api: httpx.Client, deployment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(api.get(f"/deployments/{deployment_id}"))
    return body


def _healthy(api: httpx.Client, deployment_id: str) -> dict[str, Any] | None:
    deployment = _deployment(api, deployment_id)
    return deployment if "dtHealthy" in deployment["latestSpec"] else None


def test_upsert_creates_then_matches_by_name_within_the_project(api: httpx.Client) -> None:
    project_id = new_project(api)
    first = upsert(api, project_id, deployment_config("api"))
    assert upsert(api, project_id, deployment_config("api", image="nginx:1")) == first
    other_project = new_project(api, "Other")
    assert upsert(api, other_project, deployment_config("api")) != first
    deployment = _deployment(api, first)
    assert deployment["name"] == "api" and deployment["projectId"] == project_id
    assert deployment["latestSpec"]["data"]["image"] == "nginx:1"
    assert ENDPOINT.match(deployment["endpoint"]) and deployment["id"] in deployment["endpoint"]  # a host, no scheme
    assert set(deployment) == {
        "id",
        "name",
        "projectId",
        "teamId",
        "endpoint",
        "dtCreated",
        "latestSpecHash",
        "latestSpec",
    }


def test_each_changed_spec_is_a_new_version_and_an_identical_one_is_not(api: httpx.Client) -> None:
    project_id = new_project(api)
    deployment_id = upsert(api, project_id, deployment_config())
    upsert(api, project_id, deployment_config())
    upsert(api, project_id, deployment_config(resources={"replicas": 3}))
    history = ok(api.get(f"/deployments/{deployment_id}/history"))
    assert [spec["data"]["resources"]["replicas"] for spec in history["items"]] == [1, 3]
    page = ok(api.get(f"/deployments/{deployment_id}/history", params={"limit": 1, "order": "desc"}))
    assert page["hasMore"] and page["items"][0]["data"]["resources"]["replicas"] == 3
    second = ok(
        api.get(
            f"/deployments/{deployment_id}/history", params={"limit": 1, "order": "desc", "after": page["nextPage"]}
        )
    )
    assert second["items"][0]["data"]["resources"]["replicas"] == 1 and not second["hasMore"]


def test_upsert_by_id_renames_and_refuses_moves_and_clashes(api: httpx.Client) -> None:
    project_id = new_project(api)
    deployment_id = upsert(api, project_id, deployment_config("api"))
    upsert(api, project_id, deployment_config("other"))
    assert upsert(api, project_id, deployment_config("api-v2"), deployment_id=deployment_id) == deployment_id
    assert _deployment(api, deployment_id)["name"] == "api-v2"
    clash = api.post(
        "/deployments",
        json={"projectId": project_id, "config": deployment_config("other"), "deploymentId": deployment_id},
    )
    error(clash, 409, "CONFLICT")
    elsewhere = new_project(api, "Elsewhere")
    moved = api.post(
        "/deployments",
        json={"projectId": elsewhere, "config": deployment_config("api-v2"), "deploymentId": deployment_id},
    )
    assert error(moved, 400, "BAD_REQUEST")["issues"][0]["path"] == "projectId"
    missing = api.post(
        "/deployments", json={"projectId": project_id, "config": deployment_config(), "deploymentId": "dmissing"}
    )
    error(missing, 404, "NOT_FOUND")
    error(api.post("/deployments", json={"projectId": "pnothere", "config": deployment_config()}), 404, "NOT_FOUND")


def test_an_invalid_config_lists_each_problem_and_creates_nothing(api: httpx.Client) -> None:
    project_id = new_project(api)
    config = deployment_config(
        enabled="yes",
        env=[{"name": "A", "value": 1}, {"name": "A", "value": "x"}],
        resources={"replicas": -1, "ports": []},
        healthChecks={"readiness": {"port": 8000}},
        integrations=[{"type": "model"}, {"type": "spaces", "name": "s", "url": "x"}, {"type": "ftp", "name": "f"}],
        colour="red",
    )
    del config["image"]
    body = error(api.post("/deployments", json={"projectId": project_id, "config": config}), 400, "BAD_REQUEST")
    paths = {issue["path"] for issue in body["issues"]}
    assert {
        "config",
        "config.enabled",
        "config.env[0].value",
        "config.resources.replicas",
        "config.resources.ports",
        "config.healthChecks.readiness.path",
        "config.integrations[0].id",
        "config.integrations[0].name",
        "config.integrations[1]",
        "config.integrations[2].type",
    } <= paths
    assert "config.image" in paths
    assert ok(api.get("/deployments"))["items"] == []
    for bad_version in ({"apiVersion": "v2"}, {"apiVersion": 1}):
        body = error(
            api.post("/deployments", json={"projectId": project_id, "config": deployment_config(**bad_version)}),
            400,
            "BAD_REQUEST",
        )
        assert body["issues"] == [
            {"path": "config.apiVersion", "message": "must be one of 'v0alpha0', 'v0alpha1', 'v1', 'latest'"}
        ]
    duplicated = deployment_config(env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}])
    body = error(api.post("/deployments", json={"projectId": project_id, "config": duplicated}), 400, "BAD_REQUEST")
    assert body["issues"] == [{"path": "config.env", "message": "variable 'A' is set more than once"}]
    absent_model = deployment_config(integrations=[{"type": "model", "id": "monothere", "name": "m"}])
    body = error(api.post("/deployments", json={"projectId": project_id, "config": absent_model}), 400, "BAD_REQUEST")
    assert body["issues"][0]["path"] == "config.integrations[0].id"
    body = error(api.post("/deployments", json={"projectId": project_id}), 400, "BAD_REQUEST")
    assert body["issues"] == [{"path": "config", "message": "is required"}]
    for broken in ({"projectId": 3, "config": []}, {"projectId": project_id, "config": "yaml", "deploymentId": 5}):
        error(api.post("/deployments", json=broken), 400, "BAD_REQUEST")
    raw = api.post("/deployments", content=b'{"projectId":', headers={"content-type": "application/json"})
    error(raw, 400, "PARSE_ERROR")


def test_lifecycle_applied_then_each_replica_ready_then_healthy(realtime_emulator: EmulatorProcess) -> None:
    # At real speed (apply 1 s, replicas ready 2 s and 2.5 s later) every step can be observed in order.
    realtime_emulator.reset()
    with checked_client(realtime_emulator) as api:
        project_id = new_project(api)
        deployment_id = upsert(api, project_id, deployment_config(resources={"replicas": 2}))
        fresh = _deployment(api, deployment_id)["latestSpec"]
        assert "externalApplied" not in fresh and "dtHealthy" not in fresh  # unknown yet: absent, never null
        assert ok(api.get(f"/deployments/{deployment_id}/runs")) == []
        observed: list[tuple[bool, int, bool]] = []

        def settled() -> bool:
            spec = _deployment(api, deployment_id)["latestSpec"]
            runs = ok(api.get(f"/deployments/{deployment_id}/runs"))  # read second: never behind the spec
            ready = runs[0]["readyReplicas"] if runs else 0
            step = ("externalApplied" in spec, ready, "dtHealthy" in spec)
            if not observed or observed[-1] != step:
                observed.append(step)
            return step[2]

        wait_for(settled, timeout=15)
        assert observed[:2] == [(False, 0, False), (True, 0, False)] and observed[-1] == (True, 2, True)
        ready_counts = [ready for _, ready, _ in observed]
        assert ready_counts == sorted(ready_counts) and 1 in ready_counts  # one replica, then the other
        runs = ok(api.get(f"/deployments/{deployment_id}/runs"))
        assert runs[0]["replicas"] == 2 and runs[0]["availableReplicas"] == 2
        assert [instance["state"] for instance in runs[0]["instances"]] == ["running", "running"]
        healthy = _deployment(api, deployment_id)["latestSpec"]
        assert healthy["externalApplied"] < healthy["dtHealthy"]


def test_a_new_spec_rolls_out_while_the_old_run_keeps_serving(api: httpx.Client) -> None:
    project_id = new_project(api)
    deployment_id = upsert(api, project_id, deployment_config())
    wait_for(lambda: _healthy(api, deployment_id))
    upsert(api, project_id, deployment_config(image="nginx:2", env=[{"name": "EMULATOR_READY_SECONDS", "value": "20"}]))
    wait_for(lambda: "externalApplied" in _deployment(api, deployment_id)["latestSpec"])
    runs = ok(api.get(f"/deployments/{deployment_id}/runs"))
    assert len(runs) == 2 and runs[1]["readyReplicas"] == 1 and runs[0]["readyReplicas"] == 0
    assert "dtHealthy" not in _deployment(api, deployment_id)["latestSpec"]
    assert ok(api.get(f"/deployments/{deployment_id}/runs", params={"limit": 1})) == runs[:1]
    error(api.get(f"/deployments/{deployment_id}/runs", params={"limit": 0}), 400, "BAD_REQUEST")


def test_disabled_deployment_scales_to_zero(api: httpx.Client) -> None:
    project_id = new_project(api)
    deployment_id = upsert(api, project_id, deployment_config(enabled=False, resources={"replicas": 2}))
    deployment = wait_for(lambda: _healthy(api, deployment_id))
    assert deployment["latestSpec"]["externalApplied"] == deployment["latestSpec"]["dtHealthy"]
    assert ok(api.get(f"/deployments/{deployment_id}/runs")) == []


def test_crash_hook_ends_instances_errored_with_a_message(api: httpx.Client) -> None:
    project_id = new_project(api)
    config = deployment_config(env=[{"name": "EMULATOR_CRASH", "value": "1"}])
    deployment_id = upsert(api, project_id, config)

    def errored() -> list[dict[str, Any]]:
        runs = ok(api.get(f"/deployments/{deployment_id}/runs"))
        return [i for run in runs for i in run["instances"] if i["state"] == "errored"]

    instance = wait_for(errored)[0]
    assert (
        "EMULATOR_CRASH" in instance["stateMessage"] and instance["dtFinished"] == instance["history"][-1]["timestamp"]
    )
    assert "dtHealthy" not in _deployment(api, deployment_id)["latestSpec"]


def test_ready_seconds_hook_delays_readiness(api: httpx.Client) -> None:
    project_id = new_project(api)
    slow = upsert(api, project_id, deployment_config("slow", env=[{"name": "EMULATOR_READY_SECONDS", "value": "60"}]))
    fast = upsert(api, project_id, deployment_config("fast"))
    wait_for(lambda: _healthy(api, fast))
    slow_spec = _deployment(api, slow)["latestSpec"]
    assert "externalApplied" in slow_spec and "dtHealthy" not in slow_spec
    starting = ok(api.get(f"/deployments/{slow}/runs"))[0]["instances"][0]
    assert starting["state"] == "starting" and "dtFinished" not in starting
    for value in ("soon", "inf", "nan", "-1", "1e300"):
        bad = deployment_config(env=[{"name": "EMULATOR_READY_SECONDS", "value": value}])
        error(api.post("/deployments", json={"projectId": project_id, "config": bad}), 400, "BAD_REQUEST")


def test_project_deployments_filter_by_name_and_deployments_list_ignores_filters(api: httpx.Client) -> None:
    first, second = new_project(api, "one"), new_project(api, "two")
    a = upsert(api, first, deployment_config("a"))
    b = upsert(api, first, deployment_config("b"))
    other_a = upsert(api, second, deployment_config("a"))
    assert [d["id"] for d in ok(api.get(f"/projects/{first}/deployments"))["items"]] == [a, b]
    assert [d["id"] for d in ok(api.get(f"/projects/{first}/deployments", params={"name": "a"}))["items"]] == [a]
    assert ok(api.get(f"/projects/{first}/deployments", params={"name": "zzz"}))["items"] == []
    page = ok(api.get(f"/projects/{first}/deployments", params={"limit": 1, "order": "desc"}))
    assert [d["id"] for d in page["items"]] == [b] and page["hasMore"]
    rest = ok(
        api.get(f"/projects/{first}/deployments", params={"limit": 1, "order": "desc", "after": page["nextPage"]})
    )
    assert [d["id"] for d in rest["items"]] == [a] and not rest["hasMore"]
    error(api.get("/projects/pnothere/deployments"), 404, "NOT_FOUND")
    # deployments-list documents only after, limit, orderBy and order: projectId and name are ignored.
    assert {"projectId", "name"}.isdisjoint(documented_query("deployments-list"))
    everything = [a, b, other_a]
    assert [d["id"] for d in ok(api.get("/deployments"))["items"]] == everything
    assert [
        d["id"] for d in ok(api.get("/deployments", params={"projectId": first, "name": "a"}))["items"]
    ] == everything
    assert [d["id"] for d in ok(api.get("/deployments", params={"projectId": "pnothere"}))["items"]] == everything


def test_delete_is_final(api: httpx.Client) -> None:
    project_id = new_project(api)
    a = upsert(api, project_id, deployment_config("a"))
    assert ok(api.delete(f"/deployments/{a}")) == {"id": a}
    error(api.get(f"/deployments/{a}"), 404, "NOT_FOUND")
    error(api.get(f"/deployments/{a}/runs"), 404, "NOT_FOUND")
    error(api.get(f"/deployments/{a}/history"), 404, "NOT_FOUND")
    error(api.delete(f"/deployments/{a}"), 404, "NOT_FOUND")
    assert ok(api.get(f"/projects/{project_id}/deployments"))["items"] == []


def test_configs_of_every_api_version_are_kept_as_given(api: httpx.Client) -> None:
    project_id = new_project(api)
    model = ok(api.post("/models", json={"name": "resnet", "isPublic": False, "projectId": project_id}))
    legacy: dict[str, Any] = {
        "apiVersion": "v0alpha0",
        "name": "legacy",
        "image": "paperspace/fastapi-deployment:latest",
        "port": 8000,
        "models": [{"id": model["id"], "path": "/opt/models"}],
        "repositories": {"dataset": "dsr8k5qzn401lb5", "repositories": [{"name": "code", "url": "https://x/y.git"}]},
        "resources": {"instanceType": "C4", "replicas": 2},
        "healthChecks": {"readiness": {"exec": {"command": ["true"]}, "periodSeconds": 5}},
    }
    alpha: dict[str, Any] = deployment_config(
        "alpha",
        apiVersion="v0alpha1",
        healthchecks={"liveness": {"path": "/health", "port": 8000, "headers": [{"name": "a", "value": "b"}]}},
        integrations=[
            {"type": "model", "id": model["id"], "name": "resnet"},
            {"type": "s3", "name": "data", "url": "s3://bucket/", "accessKeyId": "k", "secretAccessKey": "secret:S3"},
            {"type": "spaces", "name": "sp", "endpoint": "https://nyc3.digitaloceanspaces.com"},
            {"type": "volume", "name": "scratch"},
            {"type": "git-lfs", "name": "weights", "url": "https://huggingface.co/x/y", "path": "/models"},
        ],
    )
    latest = deployment_config("newest", apiVersion="latest", basicAuthKey="s3cr3t-basic")
    for config in (legacy, alpha, latest):
        deployment_id = upsert(api, project_id, config)
        assert _deployment(api, deployment_id)["latestSpec"]["data"] == config
        assert ok(api.get(f"/deployments/{deployment_id}/history"))["items"][0]["data"] == config
    legacy_id = ok(api.get(f"/projects/{project_id}/deployments", params={"name": "legacy"}))["items"][0]["id"]
    wait_for(lambda: _healthy(api, legacy_id))
    assert ok(api.get(f"/deployments/{legacy_id}/runs"))[0]["readyReplicas"] == 2
    newest = ok(api.get(f"/projects/{project_id}/deployments", params={"name": "newest"}))["items"][0]
    assert newest["basicAuthKey"] == "s3cr3t-basic"
    mixed = {**legacy, "integrations": []}  # a v1 field in a v0alpha0 config
    body = error(api.post("/deployments", json={"projectId": project_id, "config": mixed}), 400, "BAD_REQUEST")
    assert body["issues"] == [{"path": "config", "message": "unknown field(s): integrations"}]
    gone = {**legacy, "models": [{"id": "monothere"}]}
    body = error(api.post("/deployments", json={"projectId": project_id, "config": gone}), 400, "BAD_REQUEST")
    assert body["issues"][0]["path"] == "config.models[0].id"
    exec_with_port = deployment_config(healthChecks={"startup": {"exec": {"command": ["true"]}, "port": 80}})
    body = error(api.post("/deployments", json={"projectId": project_id, "config": exec_with_port}), 400, "BAD_REQUEST")
    assert [i["path"] for i in body["issues"]] == ["config.healthChecks.startup"]


def test_git_headers_of_the_upsert_become_the_spec_metadata(api: httpx.Client) -> None:
    project_id = new_project(api)
    headers = {
        "x-git-actor": "octocat",
        "x-git-host": "github",
        "x-git-owner": "acme",
        "x-git-ref": "refs/heads/main",
        "x-git-repo": "models",
        "x-git-sha": "0123abc",
    }
    body = {"projectId": project_id, "config": deployment_config()}
    deployment_id = ok(api.post("/deployments", json=body, headers=headers))["deploymentId"]
    assert _deployment(api, deployment_id)["latestSpec"]["metadata"] == {"gitHeaders": headers}
    upsert(api, project_id, deployment_config(image="nginx:2"))
    assert _deployment(api, deployment_id)["latestSpec"]["metadata"] is None
