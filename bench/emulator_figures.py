"""Emulator throughput that must not fall as it fills (issue #14): deployment reads and upserts with a long
spec history against a deployment with one version, and creates among many objects against among few.

Each pair is measured in alternating rounds against one emulator process (or two, for the store sizes) at
real time, so drift on a shared machine falls on both sides alike.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from emulator.store import Store

from .emulator import Emulator, emulator_process
from .registry import Result, Run, figure

ROUNDS = 4
FILLER_TEAM = "team-bench-filler"  # objects no request of the bench's team lists


def _config(version: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "name": "api",
        "image": "paperspace/fastapi-deployment:latest",
        "resources": {"machineType": "C4", "ports": [8000], "replicas": 1},
        "env": [{"name": "VERSION", "value": str(version)}],
    }


def _ok(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


@dataclass(frozen=True)
class Deployments:
    """Two deployments on one emulator: one with a long spec history, one with a single version."""

    emulator: Emulator
    project: str
    long: str  # its id
    short: str
    versions: int


def _deployments(run: Run) -> Deployments:
    def make() -> Deployments:
        emulator = run.resources.enter_context(emulator_process())
        versions = run.size(1_000, 20)
        with emulator.client() as api:
            project = _ok(api.post("/projects", json={"name": "bench"}))["id"]
            long = short = ""
            for version in range(versions):
                body = {"projectId": project, "config": _config(version)}
                long = _ok(api.post("/deployments", json=body))["deploymentId"]
            short_config = {**_config(0), "name": "short"}
            short = _ok(api.post("/deployments", json={"projectId": project, "config": short_config}))["deploymentId"]
        return Deployments(emulator, project, long, short, versions)

    return run.shared("emulator.deployments", make)


def _rate_pair(
    run: Run,
    value: Callable[[httpx.Client], None],
    baseline: Callable[[httpx.Client], None],
    clients: tuple[httpx.Client, httpx.Client],
) -> tuple[float, float]:
    """Requests per second of ``value`` and of ``baseline``, in alternating rounds (one request per call)."""
    per_round = run.size(500, 10)
    for request, client in ((value, clients[0]), (baseline, clients[1])):  # warm up: connections, first-use costs
        for _ in range(per_round // 5 + 1):
            request(client)
    spent = [0.0, 0.0]
    for _ in range(run.size(ROUNDS, 1)):
        for side, (request, client) in enumerate(((value, clients[0]), (baseline, clients[1]))):
            started = time.perf_counter()
            for _ in range(per_round):
                request(client)
            spent[side] += time.perf_counter() - started
    total = per_round * run.size(ROUNDS, 1)
    return total / spent[0], total / spent[1]


@figure("emulator.deployment_reads", target="≈ 1 (≥ 0.8)")
def deployment_reads(run: Run) -> Result:
    """GET /deployments/{id} per second: 1,000 spec versions ÷ one version."""
    found = _deployments(run)

    def read(deployment: str) -> Callable[[httpx.Client], None]:
        return lambda client: _ok(client.get(f"/deployments/{deployment}"))

    with found.emulator.client() as api:
        value, baseline = _rate_pair(run, read(found.long), read(found.short), (api, api))
    return Result("emulator.deployment_reads", value, baseline, "req/s")


@figure("emulator.deployment_upserts", target="≈ 1 (≥ 0.8)")
def deployment_upserts(run: Run) -> Result:
    """POST /deployments per second (an unchanged config: read the latest version, compare, answer): 1,000
    spec versions ÷ one version."""
    found = _deployments(run)

    def upsert(body: dict[str, Any]) -> Callable[[httpx.Client], None]:
        return lambda client: _ok(client.post("/deployments", json=body))

    long_body = {"projectId": found.project, "config": _config(found.versions - 1)}
    short_body = {"projectId": found.project, "config": {**_config(0), "name": "short"}}
    with found.emulator.client() as api:
        value, baseline = _rate_pair(run, upsert(long_body), upsert(short_body), (api, api))
    return Result("emulator.deployment_upserts", value, baseline, "req/s")


def _filled_state(directory: Path, objects: int) -> str:
    """A state file holding ``objects`` projects of another team, written through the emulator's own store."""
    path = str(directory / f"filled-{objects}.sqlite")
    store = Store(path)
    with store.transaction():
        for index in range(objects):
            store.insert("project", FILLER_TEAM, f"pfill{index:09d}", {}, created=0.0, name=f"filler {index}")
    store.close()
    return path


@figure("emulator.creates_many_objects", target="≈ 1 (≥ 0.8)")
def creates_among_many(run: Run) -> Result:
    """POST /projects per second: into a store of 50,000 objects ÷ into an empty one (a new id is checked
    against every object's)."""
    directory = Path(run.resources.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
    many = run.resources.enter_context(emulator_process(_filled_state(directory, run.size(50_000, 200))))
    few = run.resources.enter_context(emulator_process(str(directory / "empty.sqlite")))
    counter = iter(range(10**9))
    with many.client() as many_api, few.client() as few_api:

        def create(client: httpx.Client) -> None:
            _ok(client.post("/projects", json={"name": f"bench {next(counter)}"}))

        value, baseline = _rate_pair(run, create, create, (many_api, few_api))
    return Result("emulator.creates_many_objects", value, baseline, "req/s")
