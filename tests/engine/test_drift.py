"""`python -m gradient_provider drift` after an `up`: nothing differs until someone edits objects through the API
(as the console does); then it names each field that differs and each entry whose object is gone, exit 2.
These run through the engine stand-in here and through the real Pulumi CLI in tests/e2e."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx

from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess

from .conftest import Project
from .harness import Engine

RICH_STACK = """\
projects:
  research: {name: Research}
  serving: {name: Serving}
datasets:
  shards: {description: Prepared shards}
  reports: {description: Evaluation reports, retainOnDelete: false}
experiments:
  pipeline:
    project: research
    machineType: A4000
    env: {EPOCHS: "3", EMULATOR_RUN_SECONDS: "1", WANDB_API_KEY: {secret: hfToken}}
    workspace: {url: https://github.com/acme/resnet-training.git, ref: main}
    jobs:
      prepare:
        image: python:3.11-slim
        command: python prepare.py
        machineType: C5
        inputs:
          shards: {dataset: shards}
        outputs:
          shards: {dataset: shards}
          batch: volume
      train:
        image: pytorch/pytorch:2.3.0
        command: python train.py
        needs: [prepare]
        inputs:
          batch: {job: prepare}
        artifacts: {dataset: reports}
    model: {name: resnet50, job: train, path: /outputs/model}
    timeoutSeconds: 7200
deployments:
  api:
    project: serving
    image: paperspace/fastapi-deployment:1.8.2
    command: [uvicorn, app:app, --port, "8000"]
    machineType: A4000
    ports: [8000]
    replicas: 2
    autoscaling:
      enabled: true
      maxReplicas: 6
      metrics:
        - {metric: cpu, summary: average, value: 70}
    model: pipeline
    env: {LOG_LEVEL: info, HF_TOKEN: {secret: hfToken}}
    healthChecks:
      readiness: {path: /healthz, port: 8000, periodSeconds: 10}
  batch:
    project: serving
    image: ghcr.io/acme/batch-scorer:2.0.1
    machineType: C5
    ports: [8080]
    replicas: 1
    enabled: false
"""


def _drift(engine: Engine, emulator: EmulatorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAPERSPACE_", "PULUMI_"))},
        "PAPERSPACE_API_URL": emulator.api_url,
        "PAPERSPACE_API_KEY": DEV_KEY,
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [sys.executable, "-m", "gradient_provider", "drift", "--stack", engine.stack, *args]
    return subprocess.run(command, cwd=engine.root, env=env, capture_output=True, text=True, timeout=120)


def _edit_deployment(api: httpx.Client, engine: Engine, **changes: Any) -> None:
    """What a console edit does: a new spec version of the deployment, through the API."""
    deployment = engine.resource("Deployment", "api")
    config = api.get(f"/deployments/{deployment.id}").json()["latestSpec"]["data"]
    config["resources"]["replicas"] = changes["replicas"]
    config["image"] = changes["image"]
    body = {"projectId": deployment.inputs["projectId"], "config": config, "deploymentId": deployment.id}
    api.post("/deployments", json=body).raise_for_status()


def test_drift_finds_a_console_edit_and_a_deleted_experiment(engine: Engine, emulator: EmulatorProcess) -> None:
    engine.up()
    clean = _drift(engine, emulator)
    assert (clean.returncode, clean.stdout) == (0, "stacks/dev.yaml: drift in 0 of 4 resources\n"), clean.stderr
    with emulator.client() as api:
        _edit_deployment(api, engine, replicas=5, image="paperspace/fastapi-deployment:1.9")
        api.delete(f"/workflows/{engine.resource('Experiment', 'train').id}").raise_for_status()
    found = _drift(engine, emulator)
    ident = engine.resource("Deployment", "api").id
    assert found.returncode == 2, found.stderr
    assert found.stdout == (
        "stacks/dev.yaml: drift in 2 of 4 resources\n"
        "  experiments.train: no live experiment found (deleted outside the stack, or never created)\n"
        f"  deployments.api (deployment {ident}):\n"
        "    image: stack file paperspace/fastapi-deployment:latest, live paperspace/fastapi-deployment:1.9\n"
        "    replicas: stack file 2, live 5\n"
    )
    markdown = _drift(engine, emulator, "--format", "markdown")
    assert markdown.returncode == 2
    assert "| deployment `api` | `replicas` | `2` | `5` |" in markdown.stdout
    assert "| experiment `train` | — | declared | **not found** |" in markdown.stdout


def test_a_secret_pasted_in_plain_text_in_the_console_is_drift_and_never_printed(
    engine: Engine, emulator: EmulatorProcess
) -> None:
    engine.up()
    pasted = "hf_pasted_in_the_console_0123456789abcdef"
    deployment = engine.resource("Deployment", "api")
    with emulator.client() as api:
        config = api.get(f"/deployments/{deployment.id}").json()["latestSpec"]["data"]
        config["env"] = [e for e in config["env"] if e["name"] != "HF_TOKEN"] + [{"name": "HF_TOKEN", "value": pasted}]
        body = {"projectId": deployment.inputs["projectId"], "config": config, "deploymentId": deployment.id}
        api.post("/deployments", json=body).raise_for_status()
    for output in ("text", "markdown"):
        found = _drift(engine, emulator, "--format", output)
        assert found.returncode == 2 and "env" in found.stdout, found.stdout + found.stderr
        assert pasted not in found.stdout + found.stderr
        assert "(plain text that looks like a credential; not shown)" in found.stdout


def test_no_drift_is_seen_in_a_stack_of_jobs_datasets_autoscaling_and_secrets(
    engine: Engine, project: Project, emulator: EmulatorProcess
) -> None:
    project.write(RICH_STACK)
    engine.up()
    before = emulator.stats()
    result = _drift(engine, emulator)
    assert (result.returncode, result.stdout) == (0, "stacks/dev.yaml: drift in 0 of 7 resources\n"), result.stdout
    # reads only, batched: per project one list of each kind, per experiment its runs; the team's datasets once
    after = emulator.stats()
    requests = after["total"] - before["total"]
    assert requests <= 7 + 4 * 2 + 2, requests
    assert after["writes"] == before["writes"], "drift only reads"
