"""Project through the real pulumi.dynamic server against the emulator."""

from __future__ import annotations

import httpx

from gradient_provider.kinds.project.lifecycle import owner_tag, pending_name
from tests.support.emulator import EmulatorProcess

from .conftest import Kind, request_count


def test_create_read_and_a_no_op_diff_without_api_calls(
    projects: Kind, api: httpx.Client, emulator: EmulatorProcess
) -> None:
    ident, outputs = projects.create({"name": "Research"})
    assert outputs == {"name": "Research", "projectId": ident}
    assert api.get(f"/projects/{ident}").json()["name"] == "Research"
    before = request_count(emulator)
    answer = projects.diff(ident, outputs, {"name": "Research"})
    assert answer.changes == "DIFF_NONE" and answer.replaces == []
    assert request_count(emulator) == before, "check and diff must not call the API"


def test_rename_is_in_place(projects: Kind, api: httpx.Client) -> None:
    ident, state = projects.create({"name": "Research"})
    answer = projects.diff(ident, state, {"name": "Research 2"})
    assert answer.changes == "DIFF_SOME" and answer.replaces == []
    outputs = projects.update(ident, state, {"name": "Research 2"})
    assert outputs == {"name": "Research 2", "projectId": ident}
    assert api.get(f"/projects/{ident}").json()["name"] == "Research 2"


def test_read_shows_drift_and_reports_a_deleted_project_gone(projects: Kind, api: httpx.Client) -> None:
    ident, state = projects.create({"name": "Research"})
    api.put(f"/projects/{ident}", json={"name": "Renamed by hand"}).raise_for_status()
    same_id, outputs, inputs = projects.read(ident, state)
    assert same_id == ident and outputs["name"] == "Renamed by hand" and inputs == {"name": "Renamed by hand"}
    assert projects.diff(ident, outputs, {"name": "Research"}).changes == "DIFF_SOME"
    api.delete(f"/projects/{ident}").raise_for_status()
    gone_id, gone_outputs, _ = projects.read(ident, state)
    assert gone_id == "" and gone_outputs == {}


def test_delete_and_delete_again(projects: Kind, api: httpx.Client) -> None:
    ident, state = projects.create({"name": "Research"})
    projects.delete(ident, state)
    assert api.get(f"/projects/{ident}").status_code == 404
    projects.delete(ident, state)  # already gone is success


def test_check_reports_bad_inputs_without_api_calls(projects: Kind, emulator: EmulatorProcess) -> None:
    before = request_count(emulator)
    assert projects.failures({}) == [("name", "is required")]
    # The same words as `validate` gives for a stack file (one translator of schema errors).
    assert projects.failures({"name": 7}) == [("name", "expected a string, got an integer 7")]
    assert projects.failures({"name": "x", "colour": "red"}) == [
        ("colour", "unknown field; expected one of: adopt, name, owner")
    ]
    assert request_count(emulator) == before


def test_a_create_cut_short_after_the_project_was_made_is_taken_over_by_the_next(
    projects: Kind, api: httpx.Client
) -> None:
    """As if the provider was killed after `POST /projects` was applied: the pending project it left is found
    by the next create of the same stack entry, given its name and kept; nothing is made twice."""
    owner = "gradient-stacks/dev/projects/research"
    tag = owner_tag(owner)
    left = api.post("/projects", json={"name": pending_name("Research", tag)}).json()["id"]
    ident, outputs = projects.create({"name": "Research", "owner": owner})
    assert ident == left and outputs["projectId"] == left
    listed = api.get("/projects").json()["items"]
    assert [(p["id"], p["name"]) for p in listed] == [(left, "Research")]
    assert [t["name"] for t in api.get(f"/projects/{left}/tags").json()["items"]] == [tag]
