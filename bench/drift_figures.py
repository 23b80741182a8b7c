"""`drift` at scale (issue #22): the requests `python -m gradient_provider drift` makes for a stack of about 1,000
resources, ÷ the resources. Its reads are batched by project: one list of each kind per project, the runs of each
workflow, the team's datasets once; so at scale they stay under one per resource.

The team is made through the emulator's API (projects, deployments, workflows with a run each, as a team makes
them by hand), its stack file written by `import` (every entry adopts its object), and drift run in process
against the emulator process over HTTP: an unchanged stack, so the figure also proves no false drift at scale.
"""

from __future__ import annotations

from typing import Any

import httpx

from gradient_provider.client import GradientClient, PaperspaceApi
from gradient_provider.client.settings import ClientSettings
from gradient_provider.drift import find_drift
from gradient_provider.importer.mapping import import_team
from gradient_provider.importer.read import read_team
from gradient_provider.importer.write import render
from gradient_provider.stack import parse_stack
from tests.support.emulator import DEV_KEY, running_emulator

from .registry import Result, Run, figure


def _made(response: httpx.Response, key: str) -> str:
    response.raise_for_status()
    value: Any = response.json()[key]
    return str(value)


def make_team(api: httpx.Client, projects: int, per_project: int) -> list[str]:
    """``projects`` projects, each with ``per_project`` deployments and as many workflows that ran once."""
    ids = []
    for p in range(projects):
        project = _made(api.post("/projects", json={"name": f"Project {p}"}), "id")
        ids.append(project)
        for n in range(per_project):
            config = {
                "apiVersion": "v1",
                "name": f"api{n}",
                "image": "paperspace/fastapi-deployment:latest",
                "resources": {"machineType": "C4", "ports": [8000], "replicas": 1},
            }
            _made(api.post("/deployments", json={"projectId": project, "config": config}), "deploymentId")
            workflow = _made(api.post("/workflows", json={"name": f"train{n}", "projectId": project}), "id")
            job = {"uses": "container@v1", "with": {"image": "pytorch/pytorch:2.3.0", "args": ["python", "t.py"]}}
            spec = {"jobs": {"train": {**job, "resources": {"instance-type": "A4000"}}}}
            api.post(f"/workflows/{workflow}/runs", json={"spec": spec}).raise_for_status()
    return ids


@figure("drift.requests_per_resource", "≤ 1 request per resource")
def drift_requests(run: Run) -> Result:
    """Requests of one `drift` on an unchanged team of about 1,000 resources; baseline: the resources."""
    projects, per_project = run.size(10, 2), run.size(50, 2)
    with running_emulator() as emulator, emulator.client() as http:
        project_ids = make_team(http, projects, per_project)
        api = PaperspaceApi(GradientClient(ClientSettings(emulator.api_url, DEV_KEY)))
        stack = parse_stack("stacks/bench.yaml", render(import_team(read_team(api, project_ids, {})), ["bench"]))
        resources = sum(len(entries) for entries in stack.declarations.values())
        before = emulator.stats()["total"]
        report = find_drift(api, stack, "", "bench")
        requests = emulator.stats()["total"] - before
    if report.drifted:
        raise AssertionError(f"an unchanged team shows drift: {report.drifted[:3]}")
    return Result("drift.requests_per_resource", float(requests), float(resources), "requests")
