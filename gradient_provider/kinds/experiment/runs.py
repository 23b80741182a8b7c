"""What `logs` and `artifacts` need from experiments: the workflow and runs of a stack entry, found from the stack
file and the API without Pulumi state, and the dataset versions a run committed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...client import PaperspaceApi
from ...client.models import WorkflowRun
from ..kind import NotOnPaperspaceError, RunCommands
from ..project.lookup import find_project
from .wire import dataset_versions

if TYPE_CHECKING:
    from ...stack import StackFile  # the loader imports the kinds: a type only


def _find(
    api: PaperspaceApi, declared: StackFile, key: str, pulumi_project: str, stack: str
) -> tuple[str, list[WorkflowRun]]:
    entry = declared.section("experiments")[key]
    project_key = entry.references["project"]
    project_name = declared.section("projects")[project_key].inputs["name"]
    project = find_project(api, project_name, f"{pulumi_project}/{stack}/projects/{project_key}")
    if project is None:
        raise NotOnPaperspaceError(
            f"no project {project_name!r} on Paperspace: has `pulumi up` run for stack {stack!r}?"
        )
    workflow = next((w for w in api.list_workflows(project.id) if w.name == entry.inputs["name"]), None)
    if workflow is None:
        raise NotOnPaperspaceError(f"experiment {key!r} has no workflow in project {project_name!r} yet")
    return workflow.id, api.list_runs(workflow.id)


RUNS = RunCommands(find=_find, versions=dataset_versions)
