"""Request bodies and small helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def new_project(api: httpx.Client, name: str = "Research") -> str:
    project_id: str = ok(api.post("/projects", json={"name": name}))["id"]
    return project_id


def deployment_config(name: str = "api", **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "name": name,
        "image": "paperspace/fastapi-deployment:latest",
        "resources": {"machineType": "C4", "ports": [8000], "replicas": 1},
    }
    resources = overrides.pop("resources", None)
    if resources:
        config["resources"] = {**config["resources"], **resources}
    config.update(overrides)
    return config


def upsert(api: httpx.Client, project_id: str, config: dict[str, Any], deployment_id: str | None = None) -> str:
    body: dict[str, Any] = {"projectId": project_id, "config": config}
    if deployment_id is not None:
        body["deploymentId"] = deployment_id
    deployment: str = ok(api.post("/deployments", json=body))["deploymentId"]
    return deployment


def workflow_spec(
    env: dict[str, str] | None = None, model: str | None = None, extra_jobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": "pytorch/pytorch:2.3.0", "args": ["python", "train.py"]},
        "resources": {"instance-type": "A100-80G"},
        "env": {"EMULATOR_RUN_SECONDS": "2", **(env or {})},
    }
    if model:
        job["outputs"] = {"trained": {"type": "model", "with": {"name": model}}}
    return {"jobs": {"train": job, **(extra_jobs or {})}}
