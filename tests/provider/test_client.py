"""The typed v1 client against the emulator process: errors, retries, lost responses, pagination."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from gradient_provider.client import (
    ClientSettings,
    ConflictError,
    ConnectionFailedError,
    GradientClient,
    InvalidRequestError,
    MissingApiKeyError,
    NotFoundError,
    PaperspaceApi,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    UnauthorizedError,
)
from tests.support.emulator import DEV_KEY, EmulatorProcess, inject

FAST_RETRY = RetryPolicy(max_attempts=6, max_seconds=20, initial_wait=0.01, max_wait=0.05)


@pytest.fixture
def paperspace(emulator: EmulatorProcess) -> Iterator[PaperspaceApi]:
    emulator.reset()
    client = GradientClient(ClientSettings(emulator.api_url, DEV_KEY), retry=FAST_RETRY)
    yield PaperspaceApi(client)
    client.close()


def _count(emulator: EmulatorProcess, method: str, route: str) -> dict[int, int]:
    rows = emulator.stats()["byRoute"]
    return {r["status"]: r["count"] for r in rows if r["method"] == method and r["route"] == route}


def test_each_error_status_has_its_own_type_and_names_the_request(paperspace: PaperspaceApi) -> None:
    with pytest.raises(NotFoundError) as missing:
        paperspace.get_project("pnothere")
    assert str(missing.value).startswith("GET /v1/projects/pnothere failed (404 NOT_FOUND): project 'pnothere'")
    with pytest.raises(InvalidRequestError) as invalid:
        paperspace.upsert_deployment(paperspace.create_project("P").id, {"apiVersion": "v1", "name": "x"})
    assert {issue.path for issue in invalid.value.issues} >= {"config.image", "config.resources"}
    assert "config.image: is required" in str(invalid.value)
    project = paperspace.create_project("Busy")
    paperspace.create_workflow(
        project.id,
        "train",
        {"jobs": {"t": {"uses": "container@v1", "with": {"image": "x"}, "resources": {"instance-type": "C4"}}}},
    )
    with pytest.raises(ConflictError):
        paperspace.delete_project(project.id)


def test_a_bad_key_is_unauthorized_and_never_quoted(emulator: EmulatorProcess) -> None:
    client = GradientClient(ClientSettings(emulator.api_url, "sk-wrong-key-123"), retry=FAST_RETRY)
    with pytest.raises(UnauthorizedError) as denied:
        PaperspaceApi(client).list_projects()
    assert "sk-wrong-key-123" not in str(denied.value) and "sk-wrong-key-123" not in repr(denied.value)
    with pytest.raises(MissingApiKeyError, match="gradient:apiKey"):
        GradientClient(ClientSettings(emulator.api_url, None))


def test_transient_failures_are_retried_until_success(
    paperspace: PaperspaceApi, faults: httpx.Client, emulator: EmulatorProcess
) -> None:
    inject(
        faults,
        rate=1,
        kinds=["http500", "http503", "http429", "reset"],
        seed=3,
        count=4,
        methods=["GET"],
        retryAfterSeconds=0,
    )
    assert paperspace.list_projects() == []
    assert sum(_count(emulator, "GET", "/v1/projects").values()) == 5


def test_retry_after_is_honoured(paperspace: PaperspaceApi, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["http429"], retryAfterSeconds=1, count=1)
    started = time.monotonic()
    paperspace.list_projects()
    assert time.monotonic() - started >= 1.0


def test_retries_stop_within_the_budget_with_the_last_error(emulator: EmulatorProcess, faults: httpx.Client) -> None:
    emulator.reset()
    client = GradientClient(
        ClientSettings(emulator.api_url, DEV_KEY),
        retry=RetryPolicy(max_attempts=3, max_seconds=5, initial_wait=0.01, max_wait=0.01),
    )
    inject(faults, rate=1, kinds=["http503"])
    with pytest.raises(ServerError, match="503"):
        PaperspaceApi(client).list_projects()
    assert _count(emulator, "GET", "/v1/projects") == {503: 3}
    inject(faults, rate=1, kinds=["http429"], retryAfterSeconds=3600)
    with pytest.raises(RateLimitedError):  # waiting an hour would break the budget: give up at once
        PaperspaceApi(client).list_projects()


def test_a_create_whose_response_was_lost_is_found_not_repeated(
    paperspace: PaperspaceApi, faults: httpx.Client, emulator: EmulatorProcess
) -> None:
    inject(faults, rate=1, kinds=["lost_response"], methods=["POST"], count=1)
    project = paperspace.create_project("Research")
    assert [p.id for p in paperspace.list_projects()] == [project.id]
    assert _count(emulator, "POST", "/v1/projects") == {0: 1}, "the POST was sent once, never again"
    spec = {"jobs": {"t": {"uses": "container@v1", "with": {"image": "x"}, "resources": {"instance-type": "C4"}}}}
    workflow = paperspace.create_workflow(project.id, "train", spec)
    inject(faults, rate=1, kinds=["lost_response"], methods=["POST"], paths=["/v1/workflows/{id}/runs"], count=1)
    run = paperspace.start_run(workflow.id, spec)
    assert run.number == 1 and [r.number for r in paperspace.list_runs(workflow.id)] == [1]


def test_a_create_that_certainly_failed_is_sent_again(paperspace: PaperspaceApi, faults: httpx.Client) -> None:
    inject(faults, rate=1, kinds=["reset", "http500"], methods=["POST"], count=2, seed=1)
    project = paperspace.create_project("Research")
    assert [p.id for p in paperspace.list_projects()] == [project.id]


def test_a_post_without_recovery_is_not_repeated_after_an_ambiguous_failure(
    emulator: EmulatorProcess, faults: httpx.Client
) -> None:
    emulator.reset()
    client = GradientClient(ClientSettings(emulator.api_url, DEV_KEY), retry=FAST_RETRY)
    inject(faults, rate=1, kinds=["lost_response"], methods=["POST"], count=1)
    with pytest.raises(ConnectionFailedError):
        client.request("POST", "/projects", body={"name": "once"})
    assert [p["name"] for p in client.paginate("/projects")] == ["once"]


def test_the_upsert_is_safe_to_resend(paperspace: PaperspaceApi, faults: httpx.Client) -> None:
    project = paperspace.create_project("P")
    config = {"apiVersion": "v1", "name": "api", "image": "x", "resources": {"machineType": "C4", "ports": [80]}}
    inject(faults, rate=1, kinds=["lost_response"], methods=["POST"], count=1)
    deployment_id = paperspace.upsert_deployment(project.id, config)
    assert paperspace.get_deployment(deployment_id).name == "api"


def test_pagination_follows_every_page(paperspace: PaperspaceApi, emulator: EmulatorProcess) -> None:
    with emulator.client() as api:
        for index in range(130):
            api.post("/projects", json={"name": f"p{index:03}"}).raise_for_status()
    names = [p.name for p in paperspace.list_projects()]
    assert names == [f"p{index:03}" for index in range(130)]
    assert _count(emulator, "GET", "/v1/projects") == {200: 2}


def test_settings_prefer_pulumi_config_to_the_environment() -> None:
    config = {"gradient:apiKey": "from-config", "gradient:apiUrl": "http://config/v1/"}
    env = {"PAPERSPACE_API_KEY": "from-env", "PAPERSPACE_API_URL": "http://env/v1"}
    chosen = ClientSettings.resolve(lambda key: config.get(key), env)
    assert (chosen.api_key, chosen.api_url) == ("from-config", "http://config/v1")
    fallback = ClientSettings.resolve(lambda _key: None, env)
    assert (fallback.api_key, fallback.api_url) == ("from-env", "http://env/v1")
    default = ClientSettings.resolve(lambda _key: None, {})
    assert default.api_url == "https://api.paperspace.com/v1" and default.api_key is None
    assert "from-config" not in repr(chosen)


@pytest.mark.parametrize(
    "key", ["ps_key_canary_9e1\n", " ps_key_canary_9e1", "ps_key canary_9e1", "ps_key_canary_9e1\t"]
)
def test_a_malformed_key_is_refused_before_any_request_without_showing_it(key: str) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    with pytest.raises(MissingApiKeyError) as refused:
        GradientClient(ClientSettings("https://api.invalid/v1", key), transport=httpx.MockTransport(record))
    assert sent == [] and "canary" not in str(refused.value)
    assert "gradient:apiKey" in str(refused.value)


def test_an_error_body_without_issue_paths_still_says_each_problem() -> None:
    """The v1 error body is {code, message, details?}; validation errors add issues: [{message}] (Paperspace's CLI
    reads them so), with no path promised."""

    def reply(request: httpx.Request) -> httpx.Response:
        body = {"code": "BAD_REQUEST", "message": "Invalid input", "issues": [{"message": "Required"}, "odd"]}
        return httpx.Response(400, json=body)

    client = GradientClient(ClientSettings("https://api.invalid/v1", "k"), transport=httpx.MockTransport(reply))
    with pytest.raises(InvalidRequestError) as invalid:
        client.request("POST", "/projects", body={})
    assert str(invalid.value) == ("POST /v1/projects failed (400 BAD_REQUEST): Invalid input\n  - Required\n  - odd")
