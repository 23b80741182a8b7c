"""Deployments: the upsert, validation, reads, the clock-driven lifecycle and its hooks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.emulator import EmulatorProcess, wait_for

from .helpers import deployment_config, error, new_project, ok, upsert


def _deployment(api: httpx.Client, deployment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(api.get(f"/deployments/{deployment_id}"))
    return body


def _healthy(api: httpx.Client, deployment_id: str) -> dict[str, Any] | None:
    deployment = _deployment(api, deployment_id)
    return deployment if deployment["latestSpec"]["dtHealthy"] else None


def test_upsert_creates_then_matches_by_name_within_the_project(api: httpx.Client) -> None:
    project_id = new_project(api)
    first = upsert(api, project_id, deployment_config("api"))
    assert upsert(api, project_id, deployment_config("api", image="nginx:1")) == first
    other_project = new_project(api, "Other")
    assert upsert(api, other_project, deployment_config("api")) != first
    deployment = _deployment(api, first)
    assert deployment["name"] == "api" and deployment["projectId"] == project_id
    assert deployment["latestSpec"]["data"]["image"] == "nginx:1"
    assert deployment["endpoint"].startswith("https://")


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
        integrations=[{"type": "model"}],
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
        "config.healthChecks.readiness",
        "config.integrations[0]",
    } <= paths
    assert any("image" in issue["message"] for issue in body["issues"])
    assert ok(api.get("/deployments"))["items"] == []
    duplicated = deployment_config(env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}])
    body = error(api.post("/deployments", json={"projectId": project_id, "config": duplicated}), 400, "BAD_REQUEST")
    assert body["issues"] == [{"path": "config.env", "message": "variable 'A' is set more than once"}]
    absent_model = deployment_config(integrations=[{"type": "model", "id": "monothere", "name": "m"}])
    body = error(api.post("/deployments", json={"projectId": project_id, "config": absent_model}), 400, "BAD_REQUEST")
    assert body["issues"][0]["path"] == "config.integrations[0].id"
    error(api.post("/deployments", json={"projectId": project_id}), 400, "BAD_REQUEST")


def test_lifecycle_applied_then_each_replica_ready_then_healthy(realtime_emulator: EmulatorProcess) -> None:
    # At real speed (apply 1 s, replicas ready 2 s and 2.5 s later) every step can be observed in order.
    realtime_emulator.reset()
    with realtime_emulator.client() as api:
        project_id = new_project(api)
        deployment_id = upsert(api, project_id, deployment_config(resources={"replicas": 2}))
        fresh = _deployment(api, deployment_id)["latestSpec"]
        assert fresh["externalApplied"] is None and fresh["dtHealthy"] is None
        assert ok(api.get(f"/deployments/{deployment_id}/runs")) == []
        observed: list[tuple[bool, int, bool]] = []

        def settled() -> bool:
            spec = _deployment(api, deployment_id)["latestSpec"]
            runs = ok(api.get(f"/deployments/{deployment_id}/runs"))  # read second: never behind the spec
            ready = runs[0]["readyReplicas"] if runs else 0
            step = (spec["externalApplied"] is not None, ready, spec["dtHealthy"] is not None)
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
    wait_for(lambda: _deployment(api, deployment_id)["latestSpec"]["externalApplied"])
    runs = ok(api.get(f"/deployments/{deployment_id}/runs"))
    assert len(runs) == 2 and runs[1]["readyReplicas"] == 1 and runs[0]["readyReplicas"] == 0
    assert _deployment(api, deployment_id)["latestSpec"]["dtHealthy"] is None


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
    assert "EMULATOR_CRASH" in instance["stateMessage"]
    assert _deployment(api, deployment_id)["latestSpec"]["dtHealthy"] is None


def test_ready_seconds_hook_delays_readiness(api: httpx.Client) -> None:
    project_id = new_project(api)
    slow = upsert(api, project_id, deployment_config("slow", env=[{"name": "EMULATOR_READY_SECONDS", "value": "60"}]))
    fast = upsert(api, project_id, deployment_config("fast"))
    wait_for(lambda: _healthy(api, fast))
    slow_spec = _deployment(api, slow)["latestSpec"]
    assert slow_spec["externalApplied"] is not None and slow_spec["dtHealthy"] is None
    bad = deployment_config(env=[{"name": "EMULATOR_READY_SECONDS", "value": "soon"}])
    error(api.post("/deployments", json={"projectId": project_id, "config": bad}), 400, "BAD_REQUEST")


def test_list_filters_by_project_and_name_and_delete_is_final(api: httpx.Client) -> None:
    first, second = new_project(api, "one"), new_project(api, "two")
    a = upsert(api, first, deployment_config("a"))
    upsert(api, first, deployment_config("b"))
    upsert(api, second, deployment_config("a"))
    assert len(ok(api.get("/deployments"))["items"]) == 3
    assert [d["name"] for d in ok(api.get("/deployments", params={"projectId": first}))["items"]] == ["a", "b"]
    named = ok(api.get("/deployments", params={"projectId": first, "name": "a"}))["items"]
    assert [d["id"] for d in named] == [a]
    error(api.get("/deployments", params={"projectId": "pnothere"}), 404, "NOT_FOUND")
    assert ok(api.delete(f"/deployments/{a}")) == {"id": a}
    error(api.get(f"/deployments/{a}"), 404, "NOT_FOUND")
    error(api.get(f"/deployments/{a}/runs"), 404, "NOT_FOUND")
    error(api.delete(f"/deployments/{a}"), 404, "NOT_FOUND")
