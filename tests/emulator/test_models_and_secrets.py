"""Models and project secrets (whose values are write-only)."""

from __future__ import annotations

import httpx

from .helpers import deployment_config, error, new_project, ok, upsert


def test_model_crud(api: httpx.Client) -> None:
    project_id = new_project(api)
    model = ok(api.post("/models", json={"name": "resnet", "isPublic": False, "projectId": project_id}))
    assert model["projectId"] == project_id and model["isPublic"] is False
    assert ok(api.get(f"/models/{model['id']}")) == model
    team_model = ok(api.post("/models", json={"name": "shared", "isPublic": True}))
    assert [m["id"] for m in ok(api.get("/models", params={"projectId": project_id}))["items"]] == [model["id"]]
    assert len(ok(api.get("/models"))["items"]) == 2
    assert ok(api.delete(f"/models/{team_model['id']}")) == {"id": team_model["id"]}
    error(api.get(f"/models/{team_model['id']}"), 404, "NOT_FOUND")
    body = error(api.post("/models", json={"name": "x"}), 400, "BAD_REQUEST")
    assert body["issues"][0]["path"] == "isPublic"
    error(api.post("/models", json={"name": "x", "isPublic": True, "projectId": "pnothere"}), 404, "NOT_FOUND")


def test_a_deployment_can_mount_a_model(api: httpx.Client) -> None:
    project_id = new_project(api)
    model = ok(api.post("/models", json={"name": "resnet", "isPublic": False, "projectId": project_id}))
    config = deployment_config(
        integrations=[{"type": "model", "id": model["id"], "name": "resnet", "path": "/opt/models"}]
    )
    deployment_id = upsert(api, project_id, config)
    assert ok(api.get(f"/deployments/{deployment_id}"))["latestSpec"]["data"]["integrations"][0]["id"] == model["id"]


def test_secret_values_are_write_only(api: httpx.Client) -> None:
    project_id = new_project(api)
    created = api.post(f"/projects/{project_id}/secrets", json={"name": "HF_TOKEN", "value": "hf_supersecret"})
    assert ok(created)["name"] == "HF_TOKEN" and "hf_supersecret" not in created.text
    for response in (
        api.get(f"/projects/{project_id}/secrets"),
        api.get(f"/projects/{project_id}/secrets/HF_TOKEN"),
        api.patch(f"/projects/{project_id}/secrets/HF_TOKEN", json={"value": "hf_rotated"}),
    ):
        ok(response)
        assert "hf_supersecret" not in response.text and "hf_rotated" not in response.text
    error(api.post(f"/projects/{project_id}/secrets", json={"name": "HF_TOKEN", "value": "again"}), 409, "CONFLICT")
    assert ok(api.delete(f"/projects/{project_id}/secrets/HF_TOKEN")) == {"name": "HF_TOKEN"}
    error(api.get(f"/projects/{project_id}/secrets/HF_TOKEN"), 404, "NOT_FOUND")
    error(api.patch(f"/projects/{project_id}/secrets/HF_TOKEN", json={"value": "x"}), 404, "NOT_FOUND")


def test_secret_validation_and_deployment_attachment(api: httpx.Client) -> None:
    project_id = new_project(api)
    body = error(
        api.post(f"/projects/{project_id}/secrets", json={"name": "1bad-name", "value": ""}), 400, "BAD_REQUEST"
    )
    assert {i["path"] for i in body["issues"]} == {"name", "value"}
    ok(api.post(f"/projects/{project_id}/secrets", json={"name": "TOKEN", "value": "v"}))
    ok(api.post(f"/projects/{project_id}/secrets", json={"name": "UNUSED", "value": "v"}))
    upsert(api, project_id, deployment_config(env=[{"name": "TOKEN", "value": "secret:TOKEN"}]))
    listed = {s["name"]: s["hasDeploymentAttached"] for s in ok(api.get(f"/projects/{project_id}/secrets"))["items"]}
    assert listed == {"TOKEN": True, "UNUSED": False}
    error(api.get("/projects/pnothere/secrets"), 404, "NOT_FOUND")
