"""Typed operations of the Paperspace API v1 that the lifecycles use, on top of ``GradientClient``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .errors import ConflictError, GradientApiError, NotFoundError
from .http import GradientClient
from .models import (
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentRun,
    JobLog,
    Model,
    Project,
    Workflow,
    WorkflowRun,
)


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

    def project_tags(self, project_id: str) -> list[str]:
        return [str(item["name"]) for item in self.client.paginate(f"/projects/{project_id}/tags")]

    def tag_project(self, project_id: str, tag: str) -> None:
        # Adding a tag twice is harmless (the same tag again), so a retry after a lost answer is safe.
        self.client.request("POST", f"/projects/{project_id}/tags", body={"name": tag}, idempotent=True)

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
        """The deployment of that name in that project only (projectDeployments-list filters by name)."""
        items = self.client.paginate(f"/projects/{project_id}/deployments", {"name": name})
        found = [Deployment.from_json(item) for item in items if item.get("name") == name]
        return next((d for d in found if d.project_id == project_id), None)

    def project_deployments(self, project_id: str) -> list[Deployment]:
        """Every deployment of a project with its latest spec: one list for many waits (projectDeployments-list)."""
        items = self.client.paginate(f"/projects/{project_id}/deployments")
        return [d for d in (Deployment.from_json(item) for item in items) if d.project_id == project_id]

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
            return {"id": fresh[-1].id, "name": name, "spec": fresh[-1].spec} if fresh else None

        body = {"name": name, "projectId": project_id, "spec": spec}
        return Workflow.from_json(self.client.request("POST", "/workflows", body=body, recover=recover))

    def get_workflow(self, workflow_id: str) -> Workflow:
        return Workflow.from_json(self.client.request("GET", f"/workflows/{workflow_id}"))

    def delete_workflow(self, workflow_id: str) -> None:
        self.client.request("DELETE", f"/workflows/{workflow_id}")

    def list_runs(self, workflow_id: str) -> list[WorkflowRun]:
        """Every run, oldest first (asked for explicitly: the API's default order is not documented)."""
        items = self.client.paginate(f"/workflows/{workflow_id}/runs", {"orderBy": "dtCreated", "order": "asc"})
        return sorted((WorkflowRun.from_json(item) for item in items), key=lambda run: run.number)

    def get_run(self, workflow_id: str, number: int) -> WorkflowRun:
        return WorkflowRun.from_json(self.client.request("GET", f"/workflows/{workflow_id}/runs/{number}"))

    def start_run(
        self,
        workflow_id: str,
        spec: dict[str, Any],
        matches: Callable[[dict[str, Any]], bool] | None = None,
    ) -> WorkflowRun:
        """Start a run. After an ambiguous failure a run newer than every run seen before whose spec ``matches``
        (by default: equals ours; the server may fill defaults in, so callers pass what identifies theirs) is
        taken as the one the lost attempt started."""
        last = max((run.number for run in self.list_runs(workflow_id)), default=0)
        same = matches or (lambda live: live == spec)

        def recover() -> dict[str, Any] | None:
            fresh = [r for r in self.list_runs(workflow_id) if r.number > last and same(r.spec)]
            return {"id": fresh[-1].number, "uuid": fresh[-1].uuid, "spec": fresh[-1].spec} if fresh else None

        return WorkflowRun.from_json(
            self.client.request("POST", f"/workflows/{workflow_id}/runs", body={"spec": spec}, recover=recover)
        )

    def run_logs(self, workflow_id: str, run: WorkflowRun) -> list[JobLog]:
        """Each job of a run with its log lines. The path's ``runId`` is the run's uuid: the response names runs
        by uuid (``workflowRunId``); the sequence number is used when a run has no uuid."""
        run_id = run.uuid or str(run.number)
        items = self.client.request("GET", f"/workflows/{workflow_id}/runs/{run_id}/logs")
        return [JobLog.from_json(item) for item in items if isinstance(item, dict)]

    def cancel_run(self, workflow_id: str, number: int) -> None:
        # A 409 means it finished meanwhile: nothing is left to cancel.
        with contextlib.suppress(ConflictError):
            self.client.request("POST", f"/workflows/{workflow_id}/runs/{number}/cancel", idempotent=True)

    # -- project secrets ---------------------------------------------------------------------------------

    def put_secret(self, project_id: str, name: str, value: str) -> bool:
        """Set a project secret, creating it when it does not exist; whether this created it. The value is never
        logged or returned, and an API error about it loses its message and issues (a validation message may
        quote the value)."""
        path = f"/projects/{project_id}/secrets"
        try:
            try:
                self.client.request("PATCH", f"{path}/{name}", body={"value": value})
                return False
            except NotFoundError:
                try:
                    self.client.request("POST", path, body={"name": name, "value": value}, idempotent=True)
                    return True
                except ConflictError:  # made meanwhile (a lost response, a concurrent up): set it
                    self.client.request("PATCH", f"{path}/{name}", body={"value": value})
                    return False
        except GradientApiError as error:
            error.message = f"the API refused secret {name} (its message is withheld: it may quote the value)"
            error.issues = []
            raise

    def delete_secret(self, project_id: str, name: str) -> None:
        with contextlib.suppress(NotFoundError):
            self.client.request("DELETE", f"/projects/{project_id}/secrets/{name}")

    # -- models ------------------------------------------------------------------------------------------

    def list_models(self, project_id: str) -> list[Model]:
        return [Model.from_json(item) for item in self.client.paginate("/models", {"projectId": project_id})]

    # -- datasets ----------------------------------------------------------------------------------------

    def list_datasets(self) -> list[Dataset]:
        return [Dataset.from_json(item) for item in self.client.paginate("/datasets")]

    def find_dataset(self, name: str) -> Dataset | None:
        """The team's dataset of that name (workflow specs may name datasets by name, so names are unique)."""
        return next((d for d in self.list_datasets() if d.name == name), None)

    def get_dataset(self, dataset_id: str) -> Dataset:
        return Dataset.from_json(self.client.request("GET", f"/datasets/{dataset_id}"))

    def create_dataset(self, name: str, description: str | None, storage_provider_id: str | None) -> Dataset:
        def recover() -> dict[str, Any] | None:  # a lost answer: the dataset of that name is the one it made
            found = self.find_dataset(name)
            return {"id": found.id, "name": found.name} if found else None

        body: dict[str, Any] = {"name": name, "isPublic": False}
        if description is not None:
            body["description"] = description
        if storage_provider_id is not None:
            body["storageProviderId"] = storage_provider_id
        return Dataset.from_json(self.client.request("POST", "/datasets", body=body, recover=recover))

    def update_dataset(self, dataset_id: str, name: str, description: str | None) -> Dataset:
        body = {"name": name, "description": description}
        return Dataset.from_json(self.client.request("PUT", f"/datasets/{dataset_id}", body=body, idempotent=True))

    def delete_dataset(self, dataset_id: str) -> None:
        self.client.request("DELETE", f"/datasets/{dataset_id}")

    def dataset_versions(self, dataset_id: str) -> list[DatasetVersion]:
        """Every version, oldest first."""
        items = self.client.paginate(f"/datasets/{dataset_id}/versions", {"orderBy": "dtCreated", "order": "asc"})
        return [DatasetVersion.from_json(item) for item in items]

    def get_dataset_version(self, dataset_id: str, version: str) -> DatasetVersion:
        return DatasetVersion.from_json(self.client.request("GET", f"/datasets/{dataset_id}/versions/{version}"))
