"""`drift` at scale (issue #22): the requests `python -m gradient_provider drift` makes for a stack of N resources
after an `up`, ÷ N. Its reads are batched by project: one list of each kind per project, the runs of each
workflow, the team's datasets once; so at scale they stay at most one per resource.

The stack is brought up by the engine stand-in (the real program and dynamic-provider server) against an emulator
process running fast; drift then runs in process against the same emulator over HTTP.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gradient_provider.client import GradientClient, PaperspaceApi
from gradient_provider.client.settings import ClientSettings
from gradient_provider.drift import find_drift
from gradient_provider.stack import load_stack
from tests.engine.harness import Engine
from tests.support.emulator import DEV_KEY, REPO_ROOT, running_emulator

from .registry import Result, Run, figure


def drift_stack(projects: int, per_project: int) -> str:
    """``projects`` projects, each with ``per_project`` deployments and as many experiments."""
    lines = ["projects:"] + [f"  p{p}: {{name: Project {p}}}" for p in range(projects)]
    lines.append("experiments:")
    for p in range(projects):
        for n in range(per_project):
            lines += [
                f"  train{p}x{n}:",
                f"    project: p{p}",
                "    image: pytorch/pytorch:2.3.0",
                f"    command: python train.py --seed {n}",
                "    machineType: A4000",
                '    env: {EMULATOR_RUN_SECONDS: "0"}',
            ]
    lines.append("deployments:")
    for p in range(projects):
        for n in range(per_project):
            lines += [
                f"  api{p}x{n}:",
                f"    project: p{p}",
                "    image: paperspace/fastapi-deployment:latest",
                "    machineType: C4",
                "    ports: [8000]",
            ]
    return "\n".join(lines) + "\n"


@figure("drift.requests_per_resource", "≤ 1 request per resource")
def drift_requests(run: Run) -> Result:
    """Requests of one `drift` on an unchanged stack of about 1,000 resources; baseline: the resources."""
    projects, per_project = run.size(10, 2), run.size(50, 2)
    resources = projects * (1 + 2 * per_project)
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as folder, running_emulator(time_scale=0.01) as emulator:
        root = Path(folder)
        (root / "stacks").mkdir()
        (root / "stacks" / "bench.yaml").write_text(drift_stack(projects, per_project))
        (root / "__main__.py").write_text((REPO_ROOT / "__main__.py").read_text())
        config = {"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.2"}
        Engine(root, "bench", root / "checkpoint.json", config=config, secret_config={"gradient:apiKey": DEV_KEY}).up()
        stack = load_stack(root / "stacks" / "bench.yaml", local=False)
        api = PaperspaceApi(GradientClient(ClientSettings(emulator.api_url, DEV_KEY)))
        before = emulator.stats()["total"]
        report = find_drift(api, stack, "", "bench")
        requests = emulator.stats()["total"] - before
    if report.drifted:
        raise AssertionError(f"an unchanged stack shows drift: {report.drifted[:3]}")
    return Result("drift.requests_per_resource", float(requests), float(resources), "requests")
