"""The import's mapping and writing, in process from snapshots: secrets the provider keeps become `{secret: KEY}`
placeholders and other project secrets stay `secret:NAME`; a credential-looking literal is never written; what a
stack file cannot say is a comment; what would not be valid is left out with the reason; the text validates."""

from __future__ import annotations

from typing import Any

from gradient_provider.client.models import Dataset, Deployment, DeploymentSpec, Project, Workflow
from gradient_provider.importer.mapping import import_team
from gradient_provider.importer.write import render
from gradient_provider.kinds.experiment.importing import WorkflowSnapshot, dataset_refs
from gradient_provider.kinds.importing import Keys, ScopeProject, TeamSnapshot
from gradient_provider.lifecycles.secret_env import secret_name
from gradient_provider.stack import SecretRef, parse_stack

PROJECT = Project("pr1", "Research")


def _deployment(name: str, config: dict[str, Any], ident: str = "de1") -> Deployment:
    return Deployment(ident, name, PROJECT.id, None, DeploymentSpec("sp1", config, "t", "t", None))


def _config(name: str = "api", **more: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "name": name,
        "image": "app:1",
        "resources": {"machineType": "C4", "ports": [80], "replicas": 1},
        **more,
    }


def _workflow(name: str, spec: dict[str, Any], ident: str = "wf1") -> WorkflowSnapshot:
    return WorkflowSnapshot(Workflow(ident, name, None), spec, 1, "Succeeded", PROJECT.id)


def _team(
    deployments: list[Deployment] | None = None,
    workflows: list[WorkflowSnapshot] | None = None,
    secrets: list[str] | None = None,
    datasets: list[Dataset] | None = None,
) -> TeamSnapshot:
    scope = ScopeProject(PROJECT, secrets or [])
    live: dict[str, list[Any]] = {
        "projects": [scope],
        "deployments": deployments or [],
        "experiments": workflows or [],
        "datasets": datasets or [],
    }
    return TeamSnapshot([scope], live)


def _written(team: TeamSnapshot) -> tuple[str, Any]:
    text = render(import_team(team), ["project pr1"])
    return text, parse_stack("stacks/imported.yaml", text)  # the loader `validate` and `up` use


def test_a_secret_the_provider_keeps_becomes_a_placeholder_and_a_project_secret_stays() -> None:
    kept = secret_name("DEPLOYMENT", "api", "HF_TOKEN")
    env = [
        {"name": "HF_TOKEN", "value": f"secret:{kept}"},
        {"name": "DB_URL", "value": "secret:dbUrl"},
        {"name": "GRADIENT_STACKS_SECRETS_REVISION", "value": "3"},
    ]
    text, stack = _written(_team([_deployment("api", _config(env=env))], secrets=[kept, "dbUrl"]))
    entry = stack.section("deployments")["api"].inputs
    assert entry["env"] == {"HF_TOKEN": SecretRef("apiHfToken"), "DB_URL": "secret:dbUrl"}
    assert stack.secret_keys == ["apiHfToken"]
    assert "#   pulumi config set --secret apiHfToken <value>" in text
    assert "not represented" not in text  # the revision counter is the provider's own


def test_an_experiments_kept_secret_becomes_a_placeholder_too() -> None:
    kept = secret_name("EXPERIMENT", "train", "WANDB_API_KEY")
    train = {
        "uses": "container@v1",
        "with": {"image": "python:3.11", "args": ["sh", "-c", "python train.py"]},
        "resources": {"instance-type": "C4"},
        "env": {"WANDB_API_KEY": f"secret:{kept}", "EPOCHS": "3"},
    }
    _, stack = _written(_team(workflows=[_workflow("train", {"jobs": {"train": train}})], secrets=[kept]))
    entry = stack.section("experiments")["train"].inputs
    assert entry["env"] == {"EPOCHS": "3", "WANDB_API_KEY": SecretRef("trainWandbApiKey")}


def test_a_credential_looking_literal_is_never_written() -> None:
    token = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    _, stack = _written(_team([_deployment("api", _config(env=[{"name": "HF_TOKEN", "value": token}]))]))
    assert stack.section("deployments")["api"].inputs["env"] == {"HF_TOKEN": SecretRef("apiHfToken")}
    text, _ = _written(_team([_deployment("api", _config(command=["serve", "--token", token]))]))
    assert token not in text and "deployment 'api' (de1): not imported: command.2 looks like a credential" in text


def test_a_reference_to_a_missing_project_secret_is_said() -> None:
    text, _ = _written(_team([_deployment("api", _config(env=[{"name": "X", "value": "secret:gone"}]))]))
    assert "# env.X refers to project secret 'gone', which the project does not have" in text


def test_an_old_config_shape_and_what_it_cannot_carry_are_comments() -> None:
    legacy = {
        "apiVersion": "v0alpha0",
        "name": "legacy",
        "image": "nginx:1",
        "port": 8080,
        "resources": {"instanceType": "C4"},
        "repositories": {"dataset": "ds1", "repositories": [{"name": "r", "url": "https://example.invalid/r"}]},
    }
    text, stack = _written(_team([_deployment("legacy", legacy)]))
    entry = stack.section("deployments")["legacy"].inputs
    assert entry["machineType"] == "C4" and entry["ports"] == [8080] and entry["adopt"] == "de1"
    assert "apiVersion v0alpha0" in text and "not represented in the stack file: config.repositories" in text


def test_a_workflow_of_another_shape_is_left_out_with_the_reason() -> None:
    other = {"jobs": {"fetch": {"uses": "some-action@v2", "with": {"url": "https://example.invalid"}}}}
    text, stack = _written(_team(workflows=[_workflow("fetch", other), _workflow("empty", {}, "wf2")]))
    assert stack.section("experiments") == {}
    assert "\n# workflow 'fetch' (wf1): not imported: jobs.fetch.image: expected a string" in text
    assert "\n# workflow 'empty' (wf2): not imported: it has no run and no spec" in text


def test_jobs_name_imported_datasets_by_key() -> None:
    corpus = Dataset("ds1", "corpus", None, None)
    spec = {
        "jobs": {
            "fit": {
                "uses": "container@v1",
                "with": {"image": "python:3.11", "args": ["sh", "-c", "python fit.py"]},
                "resources": {"instance-type": "C4"},
                "inputs": {"data": {"type": "dataset", "with": {"ref": "ds1:v2"}}},
            },
            "eval": {
                "uses": "container@v1",
                "with": {"image": "python:3.11", "args": ["sh", "-c", "python e.py"]},
                "resources": {"instance-type": "C4"},
            },
        }
    }
    assert dataset_refs(spec) == ["ds1:v2"]
    _, stack = _written(_team(workflows=[_workflow("fit", spec)], datasets=[corpus]))
    entry = stack.section("experiments")["fit"]
    assert entry.inputs["jobs"]["fit"]["inputs"] == {"data": {"dataset": "corpus", "version": "v2"}}
    assert entry.nested_references == {"datasetIds": ("corpus",)}
    assert stack.section("datasets")["corpus"].inputs == {"name": "corpus", "adopt": "ds1"}


def test_keys_are_valid_and_unique() -> None:
    keys = Keys()
    assert [keys("My API", "deployment"), keys("My API", "deployment"), keys("2024 run", "experiment")] == [
        "My-API",
        "My-API-2",
        "experiment-2024-run",
    ]
    assert keys("", "project") == "project"


def test_nothing_imported_is_still_a_valid_stack() -> None:
    text = render(import_team(TeamSnapshot([])), ["project pr1"])
    assert parse_stack("stacks/x.yaml", text).declarations == {"projects": {}}


def test_a_workflow_with_a_local_workspace_is_left_out_and_the_rest_is_written() -> None:
    """Its directory is on someone's machine: the entry cannot be written, the file still can (review finding)."""
    from gradient_provider.kinds.experiment.lifecycle import ExperimentLifecycle
    from gradient_provider.kinds.experiment.wire import build_spec

    inputs, problems = ExperimentLifecycle.check(
        {
            "projectId": "pr1",
            "name": "train",
            "image": "i",
            "command": "python t.py",
            "machineType": "A4000",
            "workspace": {"path": "./training"},
            "workspaceHash": "a" * 64,
        }
    )
    assert problems == []
    inputs["workspaceObject"] = {
        "url": "s3://b/gradient-workspaces/" + "a" * 64 + "/",
        "accessKey": "secret:WORKSPACE_S3_ACCESS_KEY_X",
        "secretAccessKey": "secret:WORKSPACE_S3_SECRET_KEY_X",
        "endpoint": "http://s3.local",
    }
    text, stack = _written(_team(workflows=[_workflow("train", build_spec(inputs))]))
    assert stack.section("experiments") == {} and "workspaceHash" not in text
    assert "# workflow 'train' (wf1): not imported: its workspace is a local directory" in text
