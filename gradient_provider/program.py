"""The Pulumi program: declare the resources of one stack file, with real dependencies between them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from .resources import Deployment, Experiment, Project
from .stack import Declaration, SecretRef, StackFile, load_stack
from .yaml_source import SourceError

STACKS_DIR = Path("stacks")


@dataclass
class DeclaredStack:
    projects: dict[str, Project]
    experiments: dict[str, Experiment]
    deployments: dict[str, Deployment]


def run_stack(stack_name: str, root: Path | None = None) -> DeclaredStack:
    """Load ``stacks/<stack>.yaml``, declare its resources and export their ids, endpoints and runs.

    Every check happens before the first resource is declared, so an invalid file applies nothing.
    """
    path = (root or Path.cwd()) / STACKS_DIR / f"{stack_name}.yaml"
    try:
        stack = load_stack(path)
    except SourceError as error:
        raise pulumi.RunError(f"invalid stack file {path}:\n{error}") from None
    secrets = _secret_config(stack)
    declared = declare(stack, secrets)
    export(declared)
    return declared


def _secret_config(stack: StackFile) -> dict[str, pulumi.Output[str]]:
    config = pulumi.Config()
    missing = [key for key in stack.secret_keys if config.get_secret(key) is None]
    if missing:
        lines = "\n".join(f"  pulumi config set --secret {key} <value>" for key in missing)
        raise pulumi.RunError(f"{stack.file}: secret config is missing; set it with:\n{lines}")
    return {key: config.require_secret(key) for key in stack.secret_keys}


def _inputs(declaration: Declaration, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    """Provider inputs: env values read from secret config go to ``secretEnv`` (kept as Paperspace project
    secrets, never written into a spec); the rest of ``env`` stays as written."""
    inputs = dict(declaration.inputs)
    if "env" in inputs:
        env = inputs.pop("env")
        plain = {name: value for name, value in env.items() if not isinstance(value, SecretRef)}
        secret = {name: secrets[value.key] for name, value in env.items() if isinstance(value, SecretRef)}
        if plain:
            inputs["env"] = plain
        if secret:
            inputs["secretEnv"] = secret
    return inputs


def declare(stack: StackFile, secrets: dict[str, pulumi.Output[str]]) -> DeclaredStack:
    projects = {key: Project(key, _inputs(d, secrets)) for key, d in stack.section("projects").items()}
    experiments = {
        key: Experiment(key, {**_inputs(d, secrets), "projectId": projects[str(d.project)].id})
        for key, d in stack.section("experiments").items()
    }
    deployments = {}
    for key, d in stack.section("deployments").items():
        inputs = {**_inputs(d, secrets), "projectId": projects[str(d.project)].id}
        if d.model is not None:
            # A real dependency: the deployment waits for the experiment and mounts the model it registered.
            inputs["modelId"] = experiments[d.model].modelId
        deployments[key] = Deployment(key, inputs)
    return DeclaredStack(projects, experiments, deployments)


def export(declared: DeclaredStack) -> None:
    pulumi.export("projects", {key: {"id": project.id} for key, project in declared.projects.items()})
    pulumi.export(
        "experiments",
        {
            key: {"workflowId": e.id, "runNumber": e.runNumber, "phase": e.phase, "modelId": e.modelId}
            for key, e in declared.experiments.items()
        },
    )
    pulumi.export(
        "deployments",
        {key: {"id": d.id, "endpoint": d.endpoint, "status": d.status} for key, d in declared.deployments.items()},
    )
