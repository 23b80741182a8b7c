"""Project tags: add (idempotent), list, remove; they go with their project."""

from __future__ import annotations

import httpx

from .helpers import error, new_project, ok


def test_tags_are_added_once_listed_and_removed(api: httpx.Client) -> None:
    project = new_project(api)
    first = ok(api.post(f"/projects/{project}/tags", json={"name": "gradient-stacks-0123"}))
    again = ok(api.post(f"/projects/{project}/tags", json={"name": "gradient-stacks-0123"}))
    assert first == again and isinstance(first["id"], int)
    ok(api.post(f"/projects/{project}/tags", json={"name": "team-a"}))
    assert [t["name"] for t in ok(api.get(f"/projects/{project}/tags"))["items"]] == ["gradient-stacks-0123", "team-a"]
    ok(api.delete(f"/projects/{project}/tags", params={"name": "team-a"}))
    assert [t["name"] for t in ok(api.get(f"/projects/{project}/tags"))["items"]] == ["gradient-stacks-0123"]
    error(api.delete(f"/projects/{project}/tags", params={"name": "team-a"}), 404, "NOT_FOUND")
    error(api.post(f"/projects/{project}/tags", json={"name": ""}), 400, "BAD_REQUEST")
    error(api.get("/projects/pr-none/tags"), 404, "NOT_FOUND")
