"""The client's retry and recovery paths through httpx.MockTransport, with a fake sleep: what is retried, how
long it waits, and that a create whose response was lost is looked up instead of sent again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gradient_provider.client import (
    ClientSettings,
    GradientClient,
    InvalidRequestError,
    PaperspaceApi,
    RetryPolicy,
    ServerError,
)

SETTINGS = ClientSettings("https://api.invalid/v1", "key")


class FakeProjects:
    """/projects in memory; ``script`` lists what each request meets first: "ok", a status, "lost", "refused"."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.projects: list[dict[str, Any]] = []
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        step = self.script.pop(0) if self.script else "ok"
        if step == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(step, int):
            headers = {"Retry-After": "7"} if step == 429 else {}
            return httpx.Response(step, json={"code": "X", "message": f"status {step}"}, headers=headers)
        if request.method == "POST":
            body = {"id": f"pr{len(self.projects) + 1}", "name": "P", "dtCreated": "2024-05-07T00:00:00Z"}
            self.projects.append(body)
            if step == "lost":  # applied, then the connection dropped before the answer
                raise httpx.ReadError("connection reset", request=request)
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"hasMore": False, "items": self.projects})


def _api(handler: FakeProjects, slept: list[float]) -> PaperspaceApi:
    retry = RetryPolicy(max_attempts=4, max_seconds=600, initial_wait=0.5, max_wait=10)
    return PaperspaceApi(
        GradientClient(SETTINGS, retry=retry, transport=httpx.MockTransport(handler), sleep=slept.append)
    )


def test_server_errors_are_retried_with_growing_waits() -> None:
    handler, slept = FakeProjects(503, 500, "ok"), list[float]()
    _api(handler, slept).list_projects()
    assert handler.seen == ["GET /v1/projects"] * 3
    assert len(slept) == 2 and all(0 <= wait <= 10 for wait in slept)


def test_a_rate_limit_waits_as_long_as_retry_after_says() -> None:
    handler, slept = FakeProjects(429, "ok"), list[float]()
    _api(handler, slept).list_projects()
    assert slept == [7.0]


def test_the_retry_budget_ends_in_the_last_error() -> None:
    handler, slept = FakeProjects(503, 503, 503, 503), list[float]()
    with pytest.raises(ServerError, match="503"):
        _api(handler, slept).list_projects()
    assert len(handler.seen) == 4 and len(slept) == 3


def test_a_rejected_request_is_not_retried() -> None:
    handler, slept = FakeProjects(400), list[float]()
    with pytest.raises(InvalidRequestError):
        _api(handler, slept).list_projects()
    assert handler.seen == ["GET /v1/projects"] and slept == []


def test_a_create_whose_response_was_lost_is_found_not_sent_again() -> None:
    handler, slept = FakeProjects("ok", "lost"), list[float]()  # the first GET lists what existed before
    project = _api(handler, slept).create_project("P")
    assert project.id == "pr1" and len(handler.projects) == 1
    assert handler.seen.count("POST /v1/projects") == 1


def test_a_create_that_never_reached_the_server_is_sent_again() -> None:
    handler, slept = FakeProjects("ok", "refused"), list[float]()
    _api(handler, slept).create_project("P")
    assert handler.seen.count("POST /v1/projects") == 2 and len(handler.projects) == 1


def test_the_unit_suite_refuses_wall_clock_sleeps() -> None:
    import time

    with pytest.raises(AssertionError, match=r"slept 0\.001 s on the wall clock"):
        time.sleep(0.001)
