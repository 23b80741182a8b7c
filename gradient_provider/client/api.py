"""Typed operations of the Paperspace API v1 that the lifecycles use, on top of ``GradientClient``."""

from __future__ import annotations

import contextlib
from typing import Any

from .errors import ConflictError
from .http import GradientClient
from .models import Deployment, DeploymentRun, Model, Project, Workflow, WorkflowRun


class PaperspaceApi:
    def __init__(self, client: GradientClient) -> None:
        self.client = client

    # -- projects ----------------------------------------------------------------------------------------

    def get_project(self, project_id: str) -> Project:
        return Project.from_json(self.client.request("GET", f"/projects/{project_id}"))

    def list_projects(self) -> list[Project]:
        return [Project.from_json(item) for item in self.client.paginate("/projects")]

    def create_project(self, name: str) -> Project:
        # Project names are not unique, so a retried create must not make a second one: remember which
        # projects of that name existed before, and after an ambiguous failure look for a new one first.
        before = {p.id for p in self.list_projects() if p.name == name}

        def recover() -> dict[str, Any] | None:
            fresh = [p for p in self.list_projects() if p.name == name and p.id not in before]
            return {"id": fresh[-1].id, "name": fresh[-1].name} if fresh else None

        return Project.from_json(self.client.request("POST", "/projects", body={"name": name}, recover=recover))

    def rename_project(self, project_id: str, name: str) -> Project:
        return Project.from_json(self.client.request("PUT", f"/projects/{project_id}", body={"name": name}))

    def delete_project(self, project_id: str) -> None:
        self.client.request("DELETE", f"/projects/{project_id}")

    # -- deployments -------------------------------------------------------------------------------------

    def upsert_deployment(self, project_id: str, config: dict[str, Any], deployment_id: str | None = None) -> str:
        body: dict[str, Any] = {"projectId": project_id, "config": config}
        if deployment_id is not None:
            body["deploymentId"] = deployment_id
        # The upsert matches by name within the project and an identical spec is no new version, so sending
        # it again after an ambiguous failure is safe.
        result = self.client.request("POST", "/deployments", body=body, idempotent=True)
        return str(result["deploymentId"])

    def get_deployment(self, deployment_id: str) -> Deployment:
        return Deployment.from_json(self.client.request("GET", f"/deployments/{deployment_id}"))

    def find_deployment(self, project_id: str, name: str) -> Deployment | None:
        items = self.client.paginate("/deployments", {"projectId": project_id, "name": name})
        found = [Deployment.from_json(item) for item in items if item.get("name") == name]
        return found[0] if found else None

    def deployment_runs(self, deployment_id: str) -> list[DeploymentRun]:
        return [
            DeploymentRun.from_json(run) for run in self.client.request("GET", f"/deployments/{deployment_id}/runs")
        ]

    def delete_deployment(self, deployment_id: str) -> None:
        self.client.request("DELETE", f"/deployments/{deployment_id}")

    # -- workflows and runs ------------------------------------------------------------------------------

    def list_workflows(self, project_id: str) -> list[Workflow]:
        items = self.client.request("GET", "/workflows", params={"projectId": project_id})
        return [Workflow.from_json(item) for item in items]

    def create_workflow(self, project_id: str, name: str, spec: dict[str, Any]) -> Workflow:
        before = {w.id for w in self.list_workflows(project_id) if w.name == name}

        def recover() -> dict[str, Any] | None:
            fresh = [w for w in self.list_workflows(project_id) if w.name == name and w.id not in before]
            return {"id": fresh[-1].id, "name": name, "projectId": project_id, "spec": spec} if fresh else None

        body = {"name": name, "projectId": project_id, "spec": spec}
        return Workflow.from_json(self.client.request("POST", "/workflows", body=body, recover=recover))

    def get_workflow(self, workflow_id: str) -> Workflow:
        return Workflow.from_json(self.client.request("GET", f"/workflows/{workflow_id}"))

    def update_workflow(self, workflow_id: str, *, name: str | None = None, spec: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if spec is not None:
            body["spec"] = spec
        self.client.request("PUT", f"/workflows/{workflow_id}", body=body)

    def delete_workflow(self, workflow_id: str) -> None:
        self.client.request("DELETE", f"/workflows/{workflow_id}")

    def list_runs(self, workflow_id: str) -> list[WorkflowRun]:
        return [WorkflowRun.from_json(item) for item in self.client.paginate(f"/workflows/{workflow_id}/runs")]

    def get_run(self, workflow_id: str, seq: int) -> WorkflowRun:
        return WorkflowRun.from_json(self.client.request("GET", f"/workflows/{workflow_id}/runs/{seq}"))

    def start_run(self, workflow_id: str, spec: dict[str, Any]) -> WorkflowRun:
        runs = self.list_runs(workflow_id)
        last_seq = max((run.seq for run in runs), default=0)

        def recover() -> dict[str, Any] | None:
            # A run started by the lost attempt is newer than every run seen before and has our spec.
            fresh = [
                r
                for r in self.client.paginate(f"/workflows/{workflow_id}/runs")
                if r["seq"] > last_seq and r["spec"] == spec
            ]
            return fresh[-1] if fresh else None

        return WorkflowRun.from_json(
            self.client.request("POST", f"/workflows/{workflow_id}/runs", body={"spec": spec}, recover=recover)
        )

    def cancel_run(self, workflow_id: str, seq: int) -> None:
        # A 409 means it finished meanwhile: nothing is left to cancel.
        with contextlib.suppress(ConflictError):
            self.client.request("POST", f"/workflows/{workflow_id}/runs/{seq}/cancel", idempotent=True)

    # -- models ------------------------------------------------------------------------------------------

    def list_models(self, project_id: str) -> list[Model]:
        return [Model.from_json(item) for item in self.client.paginate("/models", {"projectId": project_id})]
