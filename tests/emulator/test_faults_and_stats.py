"""Injected faults, rate limits and the request statistics of the admin API."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.emulator import EmulatorProcess, inject, running_emulator

from .contract import checked_client
from .helpers import error, ok


def _project_names(api: httpx.Client) -> list[str]:
    return [p["name"] for p in ok(api.get("/projects"))["items"]]


def test_http_error_faults_change_nothing(api: httpx.Client, faults: httpx.Client) -> None:
    for kind, status, code in (("http500", 500, "INTERNAL_SERVER_ERROR"), ("http503", 503, "SERVICE_UNAVAILABLE")):
        inject(faults, rate=1, kinds=[kind], count=1)
        error(api.post("/projects", json={"name": kind}), status, code)
    assert _project_names(api) == []


def test_http429_fault_says_when_to_retry(api: httpx.Client, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["http429"], retryAfterSeconds=7, count=1)
    response = api.get("/projects")
    error(response, 429, "TOO_MANY_REQUESTS")
    assert response.headers["retry-after"] == "7"
    ok(api.get("/projects"))  # count=1: only one fault


def test_reset_drops_the_connection_before_the_change(api: httpx.Client, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["reset"], methods=["POST"], count=1)
    with pytest.raises(httpx.TransportError):
        api.post("/projects", json={"name": "lost"})
    assert _project_names(api) == []


def test_lost_response_commits_the_change_then_drops_the_connection(api: httpx.Client, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["lost_response"], methods=["POST"], paths=["/v1/projects"], count=1)
    with pytest.raises(httpx.TransportError):
        api.post("/projects", json={"name": "committed"})
    assert _project_names(api) == ["committed"]


def test_latency_fault_delays_but_serves(api: httpx.Client, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["latency"], latencyMs=300, count=1)
    started = time.monotonic()
    ok(api.get("/projects"))
    assert time.monotonic() - started >= 0.3


def test_a_seeded_rate_gives_a_reproducible_share_of_faults(api: httpx.Client, faults: httpx.Client) -> None:
    def outcomes() -> list[int]:
        inject(faults, rate=0.5, kinds=["http500", "http503"], seed=42)
        return [api.get("/projects").status_code for _ in range(40)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert 5 < sum(status != 200 for status in first) < 35
    assert set(first) == {200, 500, 503}
    faults.delete("/faults").raise_for_status()
    assert {api.get("/projects").status_code for _ in range(10)} == {200}


def test_fault_configuration_is_validated(faults: httpx.Client) -> None:
    body = error(faults.post("/faults", json={"rate": 2, "kinds": ["meteor"]}), 400, "BAD_REQUEST")
    assert {i["path"] for i in body["issues"]} == {"rate", "kinds[0]"}


def test_stats_count_by_method_route_template_and_status(emulator: EmulatorProcess, api: httpx.Client) -> None:
    project = ok(api.post("/projects", json={"name": "a"}))
    ok(api.get(f"/projects/{project['id']}"))
    error(api.get("/projects/pnothere"), 404, "NOT_FOUND")
    with checked_client(emulator, key=None) as anonymous:
        error(anonymous.get("/projects"), 401, "UNAUTHORIZED")
    stats = emulator.stats()
    rows = {(r["method"], r["route"], r["status"]): r["count"] for r in stats["byRoute"]}
    assert rows == {
        ("POST", "/v1/projects", 200): 1,
        ("GET", "/v1/projects/{id}", 200): 1,
        ("GET", "/v1/projects/{id}", 404): 1,
        ("GET", "/v1/projects", 401): 1,
    }
    assert stats["total"] == 4 and stats["writes"] == 1
    assert stats["objects"] == {"team-dev": {"project": 1}}
    emulator.reset()
    assert emulator.stats()["total"] == 0 and emulator.stats()["objects"] == {}


def test_rate_limit_answers_429_past_n_requests_per_second_per_key() -> None:
    keys = ("--api-key", "a:team-a", "--api-key", "b:team-b")
    with (
        running_emulator("--rate-limit", "5", *keys) as emulator,
        checked_client(emulator, "a") as a,
        checked_client(emulator, "b") as b,
    ):
        responses = [a.get("/projects") for _ in range(8)]
        assert [r.status_code for r in responses].count(200) == 5
        limited = [r for r in responses if r.status_code == 429]
        assert len(limited) == 3
        assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
        assert limited[0].json()["code"] == "TOO_MANY_REQUESTS"
        assert b.get("/projects").status_code == 200  # another key has its own budget
        time.sleep(1.05)
        assert a.get("/projects").status_code == 200
