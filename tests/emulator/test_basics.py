"""Health, session, authentication, team isolation and the error conventions."""

from __future__ import annotations

import httpx

from tests.support.emulator import EmulatorProcess

from .contract import checked_client
from .helpers import error, new_project, ok


def test_health_needs_no_key(emulator: EmulatorProcess) -> None:
    with checked_client(emulator, key=None) as anonymous:
        assert ok(anonymous.get("/health")) == "HEALTHY"


def test_session_names_the_team_of_the_key_and_never_the_key(api: httpx.Client) -> None:
    response = api.get("/auth/session")
    session = ok(response)  # every field auth-session requires, checked by the contract client
    assert session["team"]["id"] == session["team"]["namespace"] == "team-dev"
    assert session["user"]["id"] and session["user"]["teamMemberships"][0]["team"]["id"] == "team-dev"
    assert "emulator-dev-key" not in response.text
    assert ok(api.get("/auth/session")) == session  # stable


def test_missing_and_unknown_keys_are_unauthorized(emulator: EmulatorProcess) -> None:
    with checked_client(emulator, key=None) as anonymous:
        error(anonymous.get("/projects"), 401, "UNAUTHORIZED")
    with checked_client(emulator, key="not-a-key") as stranger:
        body = error(stranger.get("/projects"), 401, "UNAUTHORIZED")
        assert "not-a-key" not in body["message"]
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": "Basic abc"}) as basic:
        error(basic.get("/auth/session"), 401, "UNAUTHORIZED")


def test_another_team_never_sees_a_resource(api: httpx.Client, emulator: EmulatorProcess) -> None:
    project_id = new_project(api)
    with checked_client(emulator, key="other-key") as other:
        assert ok(other.get("/auth/session"))["team"]["id"] == "team-other"
        error(other.get(f"/projects/{project_id}"), 404, "NOT_FOUND")
        error(other.put(f"/projects/{project_id}", json={"name": "x"}), 404, "NOT_FOUND")
        error(other.delete(f"/projects/{project_id}"), 404, "NOT_FOUND")
        assert ok(other.get("/projects"))["items"] == []
        other_project = new_project(other, "Theirs")
    assert [p["id"] for p in ok(api.get("/projects"))["items"]] == [project_id]
    error(api.get(f"/projects/{other_project}"), 404, "NOT_FOUND")


def test_unknown_route_and_method_answer_in_the_v1_error_shape(api: httpx.Client) -> None:
    error(api.get("/no-such-thing"), 404, "NOT_FOUND")
    error(api.patch("/projects"), 405, "METHOD_NOT_SUPPORTED")


def test_a_body_that_is_not_json_is_a_parse_error(api: httpx.Client) -> None:
    for route in ("/projects", "/workflows", "/deployments", "/datasets", "/models"):
        raw = api.post(route, content=b"{not json", headers={"content-type": "application/json"})
        error(raw, 400, "PARSE_ERROR")
        error(api.post(route, json=["a", "list"]), 400, "BAD_REQUEST")
        error(
            api.post(route, content=b"\xff\xfe\x00", headers={"content-type": "application/json"}), 400, "PARSE_ERROR"
        )


def test_ids_are_opaque_prefixed_strings(api: httpx.Client) -> None:
    first, second = new_project(api, "a"), new_project(api, "b")
    assert first != second
    assert first.startswith("p") and first[1:].isalnum()
