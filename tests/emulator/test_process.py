"""The process itself: its announcement, keys from the command line, persistence and concurrency."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.emulator import REPO_ROOT, running_emulator, wait_for

from .contract import checked_client
from .helpers import deployment_config, error, finished_run, new_project, ok, upsert, workflow_spec


def test_first_line_announces_the_url_and_port_zero_picks_a_free_port() -> None:
    with running_emulator() as first, running_emulator() as second:
        for process in (first, second):
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", process.api_url)
        assert first.api_url != second.api_url


def test_api_keys_from_the_command_line_replace_the_default() -> None:
    with running_emulator("--api-key", "k1:team-a", "--api-key", "k2:team-b") as emulator:
        a, b, default = checked_client(emulator, "k1"), checked_client(emulator, "k2"), checked_client(emulator)
        with a, b, default:
            assert ok(a.get("/auth/session"))["team"]["id"] == "team-a"
            assert ok(b.get("/auth/session"))["team"]["id"] == "team-b"
            error(default.get("/auth/session"), 401, "UNAUTHORIZED")


def test_bad_arguments_exit_with_a_usage_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--api-key", "no-team"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "KEY:TEAM" in result.stderr


def test_state_survives_a_restart_and_lifecycles_continue(tmp_path: Path) -> None:
    state = str(tmp_path / "emulator.sqlite")
    with running_emulator(state=state) as emulator, checked_client(emulator) as api:
        project_id = new_project(api)
        deployment_id = upsert(api, project_id, deployment_config())
        ok(api.post(f"/projects/{project_id}/secrets", json={"name": "TOKEN", "value": "v"}))
        spec = workflow_spec(model="resnet", env={"EMULATOR_RUN_SECONDS": "4"})
        workflow = ok(api.post("/workflows", json={"name": "t", "projectId": project_id, "spec": spec, "run": True}))
    with running_emulator(state=state) as emulator, checked_client(emulator) as api:
        assert ok(api.get(f"/projects/{project_id}"))["name"] == "Research"
        run = wait_for(lambda: finished_run(api, workflow["id"], 1))
        assert run["uuid"] == workflow["run"]["uuid"] and run["status"]["phase"] == "Succeeded"
        model_id = run["status"]["jobs"]["register"]["outputs"]["model-id"]
        assert [m["id"] for m in ok(api.get("/models"))["items"]] == [model_id]  # registered after the restart
        assert [s["name"] for s in ok(api.get(f"/projects/{project_id}/secrets"))["items"]] == ["TOKEN"]
        wait_for(lambda: "dtHealthy" in ok(api.get(f"/deployments/{deployment_id}"))["latestSpec"])


def test_fifty_parallel_upserts_of_one_name_give_one_deployment(emulator_url: str) -> None:
    async def scenario() -> set[str]:
        headers = {"Authorization": "Bearer emulator-dev-key"}
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=emulator_url, headers=headers, limits=limits, timeout=30) as client:
            project_id = (await client.post("/projects", json={"name": "P"})).json()["id"]

            async def one(replicas: int) -> str:
                config = deployment_config("api", resources={"replicas": replicas})
                response = await client.post("/deployments", json={"projectId": project_id, "config": config})
                response.raise_for_status()
                return str(response.json()["deploymentId"])

            ids = set(await asyncio.gather(*(one(i % 3 + 1) for i in range(50))))
            listed = (await client.get(f"/projects/{project_id}/deployments")).json()["items"]
            assert len(listed) == 1
            return ids

    assert len(asyncio.run(scenario())) == 1


def test_a_state_file_of_an_older_format_starts_empty(tmp_path: Path) -> None:
    state = tmp_path / "old.sqlite"
    with sqlite3.connect(state) as db:  # the table as format 1 wrote it, without a format version
        db.execute(
            "CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL,"
            " team TEXT NOT NULL, parent TEXT, name TEXT, created REAL NOT NULL, data TEXT NOT NULL, UNIQUE (kind, id))"
        )
        db.execute(
            "INSERT INTO objects (kind, id, team, parent, name, created, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("run", "wold-1", "team-dev", "wold", None, 0.0, '{"seq": 1, "spec": {}, "cancelledAt": null}'),
        )
    db.close()
    with running_emulator(state=str(state)) as emulator, checked_client(emulator) as api:
        assert ok(api.get("/models"))["items"] == []  # the old run is gone, not misread
        assert emulator.stats()["objects"] == {}
    with running_emulator(state=str(state)) as emulator, checked_client(emulator) as api:
        project_id = new_project(api)
    with running_emulator(state=str(state)) as emulator, checked_client(emulator) as api:
        assert ok(api.get(f"/projects/{project_id}"))["id"] == project_id  # the new format is kept
