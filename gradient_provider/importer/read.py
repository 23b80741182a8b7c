"""What `import` reads from Paperspace: projects, their deployments (latest spec), workflows (the spec of the latest
run), project secret names (values are never returned by v1, and never asked for), and the datasets the workflows
use. Reads only: nothing here writes to the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client import NotFoundError, PaperspaceApi
from ..client.models import Dataset, Deployment, Project, Workflow


@dataclass(frozen=True)
class WorkflowSnapshot:
    workflow: Workflow
    spec: dict[str, Any]  # the latest run's spec; the workflow's own when it never ran; {} when it has neither
    runs: int
    latest_phase: str | None


@dataclass(frozen=True)
class ProjectSnapshot:
    project: Project
    deployments: list[Deployment]
    workflows: list[WorkflowSnapshot]
    secret_names: list[str]


@dataclass(frozen=True)
class TeamSnapshot:
    projects: list[ProjectSnapshot]
    datasets: list[Dataset]  # the datasets the workflows use, and those asked for by id
    # a dataset reference of a workflow spec that names no dataset of the team: (workflow name, reference)
    unresolved: list[tuple[str, str]] = field(default_factory=list)


def read_team(api: PaperspaceApi, project_ids: Iterable[str], dataset_ids: Iterable[str] = ()) -> TeamSnapshot:
    """Read each project (a missing one raises NotFoundError, which names it) and what it holds."""
    projects = [_project(api, api.get_project(ident)) for ident in dict.fromkeys(project_ids)]
    wanted = [api.get_dataset(ident) for ident in dict.fromkeys(dataset_ids)]
    used, unresolved = _used_datasets(api, projects)
    datasets = list({d.id: d for d in [*wanted, *used]}.values())
    return TeamSnapshot(projects, datasets, unresolved)


def _project(api: PaperspaceApi, project: Project) -> ProjectSnapshot:
    # projectDeployments-list: every deployment of the project, each with its latest spec (any config shape)
    deployments = [Deployment.from_json(item) for item in api.client.paginate(f"/projects/{project.id}/deployments")]
    workflows = []
    for workflow in api.list_workflows(project.id):
        runs = api.list_runs(workflow.id)
        spec = runs[-1].spec if runs else workflow.spec or {}
        workflows.append(WorkflowSnapshot(workflow, spec, len(runs), runs[-1].phase if runs else None))
    # projectSecrets-list: names only (v1 never returns a value)
    secrets = sorted(str(item["name"]) for item in api.client.paginate(f"/projects/{project.id}/secrets"))
    return ProjectSnapshot(project, [d for d in deployments if d.project_id == project.id], workflows, secrets)


def dataset_refs(spec: dict[str, Any]) -> list[str]:
    """Every dataset a workflow spec names, as written (`<id or name>[:<version>]`): workflow inputs of type
    dataset (a single-job experiment's `datasets`) and dataset inputs and outputs of its jobs."""
    refs = [
        str((value.get("with") or {}).get("ref", ""))
        for value in (spec.get("inputs") or {}).values()
        if isinstance(value, dict) and value.get("type") == "dataset"
    ]
    for job in (spec.get("jobs") or {}).values():
        if not isinstance(job, dict):
            continue
        for value in [*(job.get("inputs") or {}).values(), *(job.get("outputs") or {}).values()]:
            if isinstance(value, dict) and value.get("type") == "dataset":
                refs.append(str((value.get("with") or {}).get("ref", "")))
    return [ref for ref in refs if ref]


def _used_datasets(api: PaperspaceApi, projects: list[ProjectSnapshot]) -> tuple[list[Dataset], list[tuple[str, str]]]:
    """The team's datasets the workflows name (by id, or by name, which is unique in a team)."""
    found: dict[str, Dataset] = {}
    unresolved: list[tuple[str, str]] = []
    team: list[Dataset] | None = None
    for snapshot in projects:
        for workflow in snapshot.workflows:
            for ref in dataset_refs(workflow.spec):
                ident = ref.partition(":")[0]
                if ident in found:
                    continue
                try:
                    found[ident] = api.get_dataset(ident)
                    continue
                except NotFoundError:
                    pass
                team = api.list_datasets() if team is None else team
                named = next((d for d in team if d.name == ident), None)
                if named is not None:
                    found[ident] = named
                else:
                    unresolved.append((workflow.workflow.name, ref))
    return list({d.id: d for d in found.values()}.values()), unresolved
