"""The Pulumi resources ``Project``, ``Experiment`` and ``Deployment`` and their dynamic providers.

Their module path and class names are part of every stack's state (the ``__provider`` blob refers to
``gradient_provider.resources.<Kind>Provider`` and the type token is ``pulumi-python:dynamic/gradient:<Kind>``):
never rename or move them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from .dynamic import LifecycleProvider
from .lifecycles.deployment import DeploymentLifecycle
from .lifecycles.experiment import ExperimentLifecycle
from .lifecycles.policy import FieldTable
from .lifecycles.project import ProjectLifecycle


class ProjectProvider(LifecycleProvider):
    lifecycle = ProjectLifecycle


class ExperimentProvider(LifecycleProvider):
    lifecycle = ExperimentLifecycle


class DeploymentProvider(LifecycleProvider):
    lifecycle = DeploymentLifecycle


def _props(table: FieldTable, inputs: Mapping[str, Any]) -> dict[str, Any]:
    # Outputs are declared as None so that they become attributes of the resource.
    return {**{name: None for name in table.outputs}, **{k: v for k, v in inputs.items() if v is not None}}


class Project(Resource, module="gradient", name="Project"):
    name: pulumi.Output[str]
    projectId: pulumi.Output[str]

    def __init__(self, resource_name: str, inputs: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__(ProjectProvider(), resource_name, _props(ProjectLifecycle.table, inputs), opts)


class Experiment(Resource, module="gradient", name="Experiment"):
    workflowId: pulumi.Output[str]
    runNumber: pulumi.Output[int]
    phase: pulumi.Output[str]
    modelId: pulumi.Output[str | None]

    def __init__(self, resource_name: str, inputs: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__(ExperimentProvider(), resource_name, _props(ExperimentLifecycle.table, inputs), opts)


class Deployment(Resource, module="gradient", name="Deployment"):
    deploymentId: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(self, resource_name: str, inputs: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__(DeploymentProvider(), resource_name, _props(DeploymentLifecycle.table, inputs), opts)
