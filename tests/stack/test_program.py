"""The real Pulumi program (__main__.py) under pulumi's runtime mocks, for each example stack."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from tests.support.emulator import REPO_ROOT
from tests.support.program import Monitor, run_program

DEV_SECRETS = {"hfToken": "hf_dev_token_123"}
PROD_SECRETS = {"sentryDsn": "https://key@sentry.invalid/1"}


def _urn(monitor: Monitor, kind: str, name: str) -> str:
    return monitor.by_name(kind, name).urn


def test_dev_declares_exactly_its_resources_with_their_inputs_and_dependencies() -> None:
    monitor = run_program("dev", secret_config=DEV_SECRETS)
    assert sorted((r.kind, r.name) for r in monitor.registrations) == [
        ("Deployment", "api"),
        ("Experiment", "train"),
        ("Project", "research"),
        ("Readiness", "readiness"),
    ]
    assert all(r.type.startswith("pulumi-python:dynamic/gradient:") for r in monitor.registrations)
    # owner: which stack entry this is, for a create to mark what it makes (kinds/project)
    assert monitor.by_name("Project", "research").inputs == {
        "name": "Research (dev)",
        "owner": "gradient-stacks/dev/projects/research",
    }
    train = monitor.by_name("Experiment", "train")
    assert train.inputs == {
        "projectId": "research-id",
        "name": "train",
        "image": "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime",
        "command": "python train.py --epochs 1 --out /outputs/model",
        "machineType": "A4000",
        "env": {"EPOCHS": "1"},
        "workspace": {"url": "https://github.com/acme/resnet-training.git", "ref": "main"},
        "model": {"name": "resnet50-dev", "path": "/outputs/model"},
        "timeoutSeconds": 600,
    }
    assert train.dependencies == [_urn(monitor, "Project", "research")]
    api = monitor.by_name("Deployment", "api")
    assert api.inputs["projectId"] == "research-id" and api.inputs["modelId"] == "train-model"
    # A value from secret config goes to secretEnv (a Paperspace project secret), never into env.
    assert api.inputs["env"] == {"LOG_LEVEL": "debug"}
    assert api.inputs["secretEnv"] == {"HF_TOKEN": "hf_dev_token_123"}
    assert api.inputs["command"] == ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]
    assert api.dependencies == sorted([_urn(monitor, "Project", "research"), _urn(monitor, "Experiment", "train")])


def test_one_readiness_resource_waits_for_what_nothing_else_consumes() -> None:
    """The deployment returns once Paperspace accepted it and the Readiness resource waits for it; the experiment
    whose model the deployment mounts must finish in its own operation (the deployment needs the model's id)."""
    monitor = run_program("dev", secret_config=DEV_SECRETS)
    assert monitor.by_name("Deployment", "api").inputs["waitInStack"] is True
    assert "waitInStack" not in monitor.by_name("Experiment", "train").inputs
    readiness = monitor.by_name("Readiness", "readiness")
    [target] = readiness.inputs["targets"]
    # `since` is the deployment's specId output, which only a real create returns (the mocks echo inputs)
    assert {k: v for k, v in target.items() if k not in ("secrets", "since")} == {
        "resource": "deployments.api",
        "kind": "Deployment",
        "id": "api-id",
        "projectId": "research-id",
        "name": "api",
        "wait": "ready",
        "timeoutSeconds": 900,
    }
    assert readiness.dependencies == [_urn(monitor, "Deployment", "api")]
    secrets = readiness.raw.fields["targets"].list_value.values[0].struct_value.fields["secrets"].struct_value
    assert secrets.fields[rpc._special_sig_key].string_value == rpc._special_secret_sig, "they travel as secrets"
    assert target["secrets"] == {"HF_TOKEN": "hf_dev_token_123"}, "to mask in what a failure quotes"


def test_secret_config_stays_secret_and_other_values_do_not() -> None:
    monitor = run_program("dev", secret_config=DEV_SECRETS)
    api = monitor.by_name("Deployment", "api")
    assert api.is_secret("secretEnv", "HF_TOKEN")
    assert not api.is_secret("env", "LOG_LEVEL")
    for registration in monitor.registrations:
        if registration.name not in ("api", "readiness"):  # readiness: to mask it (as a secret, checked below)
            assert "hf_dev_token_123" not in str(registration.inputs)


def test_prod_declares_both_projects_both_deployments_and_the_datasets_its_jobs_use() -> None:
    monitor = run_program("prod", secret_config=PROD_SECRETS)
    assert sorted((r.kind, r.name) for r in monitor.registrations) == [
        ("Dataset", "eval-reports"),
        ("Dataset", "imagenet"),
        ("Deployment", "api"),
        ("Deployment", "batch"),
        ("Experiment", "train"),
        ("Project", "research"),
        ("Project", "serving"),
        ("Readiness", "readiness"),
    ]
    api = monitor.by_name("Deployment", "api")
    assert api.inputs["name"] == "resnet50-api" and api.inputs["projectId"] == "serving-id"
    assert api.inputs["env"]["HF_TOKEN"] == "secret:HF_TOKEN"  # a Paperspace secret reference, not a value
    assert api.is_secret("secretEnv", "SENTRY_DSN") and not api.is_secret("env", "HF_TOKEN")
    assert api.inputs["autoscaling"]["maxReplicas"] == 6
    # the datasets the jobs name by key are the experiment's datasetIds, and real dependencies
    train = monitor.by_name("Experiment", "train")
    assert train.inputs["datasetIds"] == {"eval-reports": "eval-reports-id", "imagenet": "imagenet-id"}
    assert set(train.inputs["jobs"]) == {"prepare", "train", "evaluate"}
    assert train.dependencies == sorted(
        _urn(monitor, kind, name)
        for kind, name in [("Project", "research"), ("Dataset", "imagenet"), ("Dataset", "eval-reports")]
    )
    assert monitor.by_name("Dataset", "imagenet").inputs == {
        "name": "imagenet-shards",
        "description": "ImageNet, resized and sharded by the prepare job",
    }
    batch = monitor.by_name("Deployment", "batch")
    assert batch.inputs["enabled"] is False and "modelId" not in batch.inputs
    assert batch.dependencies == [_urn(monitor, "Project", "serving")]


def _broken_root(tmp_path: Path, text: str) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text(text)
    (tmp_path / "__main__.py").write_text((REPO_ROOT / "__main__.py").read_text())
    return tmp_path


def test_an_invalid_stack_file_declares_nothing(tmp_path: Path) -> None:
    root = _broken_root(tmp_path, "projects:\n  research: {}\ndeployments:\n  api: {project: research, replicas: x}\n")
    with pytest.raises(pulumi.RunError) as failure:
        run_program("dev", root=root)
    message = str(failure.value)
    assert "dev.yaml:4: deployments.api.image: is required" in message
    assert 'dev.yaml:4: deployments.api.replicas: expected an integer, got a string "x"' in message


def test_missing_secret_config_declares_nothing() -> None:
    registered: list[str] = []
    with pytest.raises(pulumi.RunError) as failure:
        monitor = run_program("dev")
        registered = [r.name for r in monitor.registrations]
    assert "pulumi config set --secret hfToken <value>" in str(failure.value)
    assert registered == []
