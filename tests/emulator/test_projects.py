"""Projects: create, read, rename, delete, validation and the delete conflict."""

from __future__ import annotations

import httpx

from .helpers import deployment_config, error, new_project, ok, upsert, workflow_spec


def test_project_lifecycle(api: httpx.Client) -> None:
    created = ok(api.post("/projects", json={"name": "Research"}))
    assert created["name"] == "Research" and created["dtCreated"].endswith("Z")
    assert set(created) == {"id", "name", "dtCreated", "repoName", "repoNodeId", "repoUrl"}  # no dtDeleted
    assert ok(api.get(f"/projects/{created['id']}")) == created
    renamed = ok(api.put(f"/projects/{created['id']}", json={"name": "Research 2"}))
    assert renamed["name"] == "Research 2" and renamed["id"] == created["id"]
    assert ok(api.get(f"/projects/{created['id']}"))["name"] == "Research 2"
    deleted = ok(api.delete(f"/projects/{created['id']}"))
    assert deleted["id"] == created["id"]
    error(api.get(f"/projects/{created['id']}"), 404, "NOT_FOUND")
    error(api.delete(f"/projects/{created['id']}"), 404, "NOT_FOUND")


def test_invalid_project_bodies_list_every_issue(api: httpx.Client) -> None:
    body = error(api.post("/projects", json={"name": "", "colour": "red"}), 400, "BAD_REQUEST")
    assert {issue["path"] for issue in body["issues"]} == {"name", "colour"}
    body = error(api.post("/projects", json={"name": "R", "repoName": "x"}), 400, "BAD_REQUEST")
    assert [issue["path"] for issue in body["issues"]] == ["repoName"]  # projects-create takes only a name
    error(api.post("/projects", json={}), 400, "BAD_REQUEST")
    project_id = new_project(api)
    error(api.put(f"/projects/{project_id}", json={"name": 7}), 400, "BAD_REQUEST")
    error(api.put("/projects/pnothere", json={"name": "x"}), 404, "NOT_FOUND")


def test_deleting_a_project_that_holds_resources_is_a_conflict_naming_them(api: httpx.Client) -> None:
    project_id = new_project(api)
    deployment_id = upsert(api, project_id, deployment_config("api"))
    workflow = ok(api.post("/workflows", json={"name": "train", "projectId": project_id, "spec": workflow_spec()}))
    body = error(api.delete(f"/projects/{project_id}"), 409, "CONFLICT")
    assert deployment_id in body["message"] and workflow["id"] in body["message"]
    assert body["details"]["deployments"] == [f"api ({deployment_id})"]
    ok(api.delete(f"/deployments/{deployment_id}"))
    ok(api.delete(f"/workflows/{workflow['id']}"))
    ok(api.delete(f"/projects/{project_id}"))


def test_a_project_takes_its_secrets_with_it(api: httpx.Client) -> None:
    project_id = new_project(api)
    ok(api.post(f"/projects/{project_id}/secrets", json={"name": "TOKEN", "value": "s3cret"}))
    ok(api.delete(f"/projects/{project_id}"))
    again = new_project(api)
    assert ok(api.get(f"/projects/{again}/secrets"))["items"] == []
