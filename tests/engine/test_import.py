"""`python -m gradient_provider import` against an emulator team made outside any stack (3 projects, 5 deployments,
one in the oldest config shape and one in v0alpha1, 3 workflows, a dataset), then `validate`, the review plan,
and `pulumi up` of the written stack through the engine harness: every resource is adopted, and Paperspace sees
no create, no delete and no write at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_provider.review.plan import plan_stack
from gradient_provider.stack import StackFile, load_stack
from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess

from .conftest import EngineFactory, Project
from .harness import Engine

PROJECT_SECRET = "hfToken"
# the keys import gives them (from their names)
KEYS = {
    "Research",
    "Serving",
    "Sandbox",
    "corpus",
    "api",
    "legacy",
    "web",
    "batch",
    "demo",
    "train",
    "pipeline",
    "baseline",
}  # a project secret made by hand: the stack keeps referring to it as secret:NAME


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _deploy(api: httpx.Client, project_id: str, config: dict[str, Any]) -> str:
    ident: str = _ok(api.post("/deployments", json={"projectId": project_id, "config": config}))["deploymentId"]
    return ident


def _workflow(api: httpx.Client, project_id: str, name: str, spec: dict[str, Any]) -> str:
    ident: str = _ok(api.post("/workflows", json={"name": name, "projectId": project_id}))["id"]
    _ok(api.post(f"/workflows/{ident}/runs", json={"spec": spec}))
    return ident


def _container(image: str, args: list[str], **more: Any) -> dict[str, Any]:
    return {"uses": "container@v1", "with": {"image": image, "args": args}, **more}


def make_team(api: httpx.Client, emulator: EmulatorProcess) -> dict[str, str]:
    """What a team made by hand looks like: ids by name."""
    ids = {name: _ok(api.post("/projects", json={"name": name}))["id"] for name in ("Research", "Serving", "Sandbox")}
    research, serving, sandbox = ids["Research"], ids["Serving"], ids["Sandbox"]
    _ok(api.post(f"/projects/{research}/secrets", json={"name": PROJECT_SECRET, "value": "kept-by-paperspace"}))
    corpus = _ok(api.post("/datasets", json={"name": "corpus", "isPublic": False}))["id"]
    version = _ok(api.post(f"/datasets/{corpus}/versions", json={}))["version"]
    _ok(api.put(f"/datasets/{corpus}/versions/{version}", json={"isCommitted": True}))
    ids["corpus"] = corpus
    env = [{"name": "MODE", "value": "prod"}, {"name": "HF_TOKEN", "value": f"secret:{PROJECT_SECRET}"}]
    ids["api"] = _deploy(
        api,
        research,
        {
            "apiVersion": "v1",
            "name": "api",
            "image": "paperspace/fastapi-deployment:latest",
            "enabled": True,
            "resources": {"machineType": "C4", "ports": [8000], "replicas": 2},
            "env": env,
        },
    )
    ids["legacy"] = _deploy(
        api,
        research,
        {
            "apiVersion": "v0alpha0",
            "name": "legacy",
            "image": "nginx:1.25",
            "port": 8080,
            "resources": {"instanceType": "C4", "replicas": 1},
        },
    )
    ids["web"] = _deploy(
        api,
        serving,
        {
            "apiVersion": "v1",
            "name": "web",
            "image": "nginx:1.27",
            "resources": {
                "machineType": "C5",
                "ports": [80],
                "replicas": 1,
                "autoscaling": {
                    "maxReplicas": 3,
                    "metrics": [{"metric": "cpu", "summary": "average", "value": 70}],
                },
            },
            "healthChecks": {"readiness": {"path": "/healthz", "port": 80}},
        },
    )
    ids["batch"] = _deploy(
        api,
        serving,
        {
            "apiVersion": "v1",
            "name": "batch",
            "image": "busybox:1.36",
            "command": ["sh", "-c", "sleep infinity"],
            "enabled": False,
            "resources": {"machineType": "C4", "ports": [80], "replicas": 1},
        },
    )
    ids["demo"] = _deploy(
        api,
        sandbox,
        {
            "apiVersion": "v0alpha1",
            "name": "demo",
            "image": "paperspace/gradio:latest",
            "resources": {"machineType": "C4", "ports": [7860], "replicas": 1},
        },
    )
    ids["train"] = _workflow(
        api,
        research,
        "train",
        {
            "jobs": {
                "train": _container(
                    "pytorch/pytorch:2.3.0",
                    ["sh", "-c", "python train.py --epochs 3"],
                    resources={"instance-type": "A4000"},
                    env={"HF_TOKEN": f"secret:{PROJECT_SECRET}"},
                )
            }
        },
    )
    ids["pipeline"] = _workflow(
        api,
        serving,
        "pipeline",
        {
            "defaults": {"resources": {"instance-type": "C4"}},
            "jobs": {
                "prep": _container(
                    "python:3.11",
                    ["sh", "-c", "python prep.py"],
                    inputs={"raw": {"type": "dataset", "with": {"ref": corpus}}},
                    outputs={"clean": {"type": "volume"}},
                ),
                "fit": _container(
                    "python:3.11",
                    ["sh", "-c", "python fit.py"],
                    needs=["prep"],
                    inputs={"clean": "prep.outputs.clean"},
                    outputs={"artifacts": {"type": "dataset", "with": {"ref": corpus}}},
                ),
            },
        },
    )
    ids["baseline"] = _workflow(  # args not written `sh -c`: what the stack file says differently is noted
        api,
        sandbox,
        "baseline",
        {"jobs": {"train": _container("python:3.11", ["python", "baseline.py"], resources={"instance-type": "C4"})}},
    )
    emulator.advance(3600)  # every run has ended and every deployment is ready
    return ids


def _import(root: Path, emulator: EmulatorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PAPERSPACE_API_URL": emulator.api_url,
        "PAPERSPACE_API_KEY": DEV_KEY,
        "PYTHONPATH": str(REPO_ROOT),  # this checkout's package, whatever the environment's install points at
    }
    return subprocess.run(
        [sys.executable, "-m", "gradient_provider", "import", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(emulator: EmulatorProcess) -> tuple[dict[str, int], int]:
    stats = emulator.stats()
    return stats["objects"].get("team-dev", {}), stats["writes"]


@pytest.fixture
def imported_engine(engine_factory: EngineFactory, emulator: EmulatorProcess) -> Engine:
    emulator.reset()
    return engine_factory(
        "imported",
        config={"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.02"},
        secret_config={"gradient:apiKey": DEV_KEY},
    )


def test_an_imported_team_is_adopted_by_up_with_no_create_no_delete_no_write(
    imported_engine: Engine, project: Project, emulator: EmulatorProcess
) -> None:
    with emulator.client() as api:
        ids = make_team(api, emulator)
    projects = [ids["Research"], ids["Serving"], ids["Sandbox"]]
    result = _import(project.root, emulator, *(f"--project={p}" for p in projects), "--stack", "imported")
    assert result.returncode == 0, result.stderr
    path = project.root / "stacks" / "imported.yaml"
    text = path.read_text()
    assert "kept-by-paperspace" not in text and DEV_KEY not in text  # no secret value, no credential

    validated = subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate", "stacks/imported.yaml"],
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    stack = load_stack(path)
    assert {section: len(stack.section(section)) for section in stack.declarations} == {
        "projects": 3,
        "datasets": 1,
        "experiments": 3,
        "deployments": 5,
    }
    adopted = {entry.inputs["adopt"] for entries in stack.declarations.values() for entry in entries.values()}
    assert adopted == set(ids.values())
    api_entry = stack.section("deployments")["api"].inputs
    assert api_entry["env"] == {"MODE": "prod", "HF_TOKEN": f"secret:{PROJECT_SECRET}"}  # a project secret: as is
    assert stack.section("experiments")["pipeline"].nested_references == {"datasetIds": ("corpus",)}
    assert "apiVersion v0alpha0" in text and "apiVersion v0alpha1" in text  # said, as comments
    assert "not represented in the stack file: spec.jobs.train.with.args" in text

    plan = plan_stack(str(path), "HEAD", StackFile("base"), stack)
    assert {(r.section, r.key): r.action for r in plan.resources} == {
        (r.section, r.key): "adopt" for r in plan.resources
    } and len(plan.resources) == 12

    objects, writes = _counts(emulator)
    steps = [step for step in imported_engine.up() if step.urn.rsplit("::", 1)[-1] in KEYS]
    assert [step.op for step in steps] == ["create"] * 12  # Pulumi's creates: each one adopts
    assert _counts(emulator) == (objects, writes), "adopting what matches creates, deletes and writes nothing"
    for name in ("api", "legacy", "web", "batch", "demo"):
        assert imported_engine.resource("Deployment", name).id == ids[name]
    for name in ("train", "pipeline", "baseline"):
        assert imported_engine.resource("Experiment", name).id == ids[name]

    assert {step.op for step in imported_engine.up()} == {"same"}  # and then nothing to do
    # the stack file is the project's own from now on: `adopt` may go
    path.write_text("\n".join(line for line in text.splitlines() if "adopt:" not in line) + "\n")
    assert {step.op for step in imported_engine.up()} == {"same"}
    assert _counts(emulator) == (objects, writes)


def test_import_refuses_to_overwrite_and_says_why_a_project_is_missing(
    project: Project, emulator: EmulatorProcess
) -> None:
    emulator.reset()
    exists = _import(project.root, emulator, "--project", "p-any", "--stack", "dev")
    assert (
        exists.returncode == 1
        and exists.stderr.strip() == "error: stacks/dev.yaml exists; give --force to overwrite it"
    )
    missing = _import(project.root, emulator, "--project", "p-missing", "--stack", "dev", "--force")
    assert missing.returncode == 1 and "not in the team of this API key?" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    assert (project.root / "stacks" / "dev.yaml").read_text().startswith("projects:")  # untouched
