"""The process itself: its announcement, keys from the command line, persistence and concurrency."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.emulator import REPO_ROOT, running_emulator, wait_for

from .helpers import deployment_config, error, new_project, ok, upsert


def test_first_line_announces_the_url_and_port_zero_picks_a_free_port() -> None:
    with running_emulator() as first, running_emulator() as second:
        for process in (first, second):
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", process.api_url)
        assert first.api_url != second.api_url


def test_api_keys_from_the_command_line_replace_the_default() -> None:
    with running_emulator("--api-key", "k1:team-a", "--api-key", "k2:team-b") as emulator:
        a, b, default = emulator.client("k1"), emulator.client("k2"), emulator.client()
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
    with running_emulator(state=state) as emulator, emulator.client() as api:
        project_id = new_project(api)
        deployment_id = upsert(api, project_id, deployment_config())
        ok(api.post(f"/projects/{project_id}/secrets", json={"name": "TOKEN", "value": "v"}))
    with running_emulator(state=state) as emulator, emulator.client() as api:
        assert ok(api.get(f"/projects/{project_id}"))["name"] == "Research"
        assert [s["name"] for s in ok(api.get(f"/projects/{project_id}/secrets"))["items"]] == ["TOKEN"]
        wait_for(lambda: ok(api.get(f"/deployments/{deployment_id}"))["latestSpec"]["dtHealthy"])


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
            listed = (await client.get("/deployments", params={"projectId": project_id})).json()["items"]
            assert len(listed) == 1
            return ids

    assert len(asyncio.run(scenario())) == 1
