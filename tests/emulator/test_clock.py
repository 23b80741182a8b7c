"""The emulator's clock moves forward on request, so lifecycles are observed without waiting for them."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.support.emulator import EmulatorProcess

from .helpers import container_job, deployment_config, error, ok, upsert


def test_advancing_the_clock_finishes_a_long_run_at_once(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project = ok(api.post("/projects", json={"name": "P"}))["id"]
    spec = {"jobs": {"train": container_job(seconds=3600)}}
    workflow = ok(api.post("/workflows", json={"name": "w", "projectId": project, "spec": spec}))["id"]
    run = ok(api.post(f"/workflows/{workflow}/runs", json={"spec": spec}))["id"]
    assert ok(api.get(f"/workflows/{workflow}/runs/{run}"))["status"]["phase"] in ("Pending", "Running")
    emulator.advance(2 * 3600)  # far beyond the run, whatever the process's time scale
    status = ok(api.get(f"/workflows/{workflow}/runs/{run}"))["status"]
    assert status["phase"] == "Succeeded" and status["jobs"]["train"]["phase"] == "Succeeded"


def test_advancing_the_clock_makes_a_deployment_ready(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project = ok(api.post("/projects", json={"name": "P"}))["id"]
    deployment = upsert(api, project, deployment_config())
    emulator.advance(3600)
    latest = ok(api.get(f"/deployments/{deployment}"))["latestSpec"]
    assert latest["externalApplied"] and latest["dtHealthy"]


def test_the_clock_only_moves_forward_and_reset_returns_it_to_real_time(emulator: EmulatorProcess) -> None:
    with emulator.admin() as admin:
        error(admin.post("/clock", json={"advanceSeconds": -5}), 400, "BAD_REQUEST")
        error(admin.post("/clock", json={"advanceSeconds": "soon"}), 400, "BAD_REQUEST")
        before = _parse(ok(admin.get("/clock"))["now"])
        after = _parse(ok(admin.post("/clock", json={"advanceSeconds": 86400}))["now"])
        assert after - before >= 86400
        emulator.reset()
        assert _parse(ok(admin.get("/clock"))["now"]) - before < 3600


def _parse(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
