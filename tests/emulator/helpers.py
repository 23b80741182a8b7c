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


def container_job(
    image: str = "pytorch/pytorch:2.3.0",
    args: list[str] | None = None,
    seconds: float | None = None,
    exit_code: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A container@v1 job; ``seconds`` and ``exit_code`` set the emulator's hooks."""
    job: dict[str, Any] = {
        "uses": "container@v1",
        "with": {"image": image, "args": args if args is not None else ["python", "train.py"]},
        "resources": {"instance-type": "A100-80G"},
    }
    env = dict(fields.pop("env", {}))
    if seconds is not None:
        env["EMULATOR_RUN_SECONDS"] = str(seconds)
    if exit_code is not None:
        env["EMULATOR_EXIT_CODE"] = str(exit_code)
    if env:
        job["env"] = env
    job.update(fields)
    return job


def create_model_job(needs: str, model_input: Any, name: str, model_type: str = "Custom") -> dict[str, Any]:
    """A create-model@v1 job registering ``model_input`` (a reference or an inline input) as ``name``."""
    return {
        "uses": "create-model@v1",
        "needs": [needs],
        "with": {"name": name, "type": model_type},
        "inputs": {"model": model_input},
        "outputs": {"model-id": {"type": "string"}},
        "resources": {"instance-type": "C4"},
    }


def workflow_spec(
    env: dict[str, str] | None = None, model: str | None = None, extra_jobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One training job (2 s unless env says otherwise); with ``model``, a create-model@v1 job after it
    registers the job's output volume ``trained`` as a model of that name."""
    job = container_job(env={"EMULATOR_RUN_SECONDS": "2", **(env or {})})
    jobs: dict[str, Any] = {"train": job}
    if model:
        job["outputs"] = {"trained": {"type": "volume"}}
        jobs["register"] = create_model_job("train", "train.outputs.trained", model)
    return {"jobs": {**jobs, **(extra_jobs or {})}}


def new_dataset(api: httpx.Client, name: str = "images", committed_version: bool = True) -> tuple[str, str | None]:
    """A dataset, with one committed version unless told otherwise: (dataset id, version or None)."""
    dataset_id: str = ok(api.post("/datasets", json={"name": name, "isPublic": False}))["id"]
    if not committed_version:
        return dataset_id, None
    version: str = ok(api.post(f"/datasets/{dataset_id}/versions", json={"message": "first upload"}))["version"]
    ok(api.put(f"/datasets/{dataset_id}/versions/{version}", json={"isCommitted": True}))
    return dataset_id, version


def finished_run(api: httpx.Client, workflow_id: str, number: int) -> dict[str, Any] | None:
    """Run ``number`` of the workflow once it has finished (for wait_for), else None."""
    run: dict[str, Any] = ok(api.get(f"/workflows/{workflow_id}/runs/{number}"))
    return run if "finished" in run["status"] else None
