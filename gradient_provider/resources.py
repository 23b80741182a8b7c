"""The Pulumi resources ``Project``, ``Dataset``, ``Experiment`` and ``Deployment`` and their dynamic providers.

Their module path and class names are part of every stack's state (the ``__provider`` blob refers to
``gradient_provider.resources.<Kind>Provider`` and the type token is ``pulumi-python:dynamic/gradient:<Kind>``):
never rename or move them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from .dynamic import LifecycleProvider
from .kinds.dataset.lifecycle import DatasetLifecycle
from .kinds.deployment.lifecycle import DeploymentLifecycle
from .kinds.experiment.lifecycle import ExperimentLifecycle
from .kinds.project.lifecycle import ProjectLifecycle
from .readiness.lifecycle import ReadinessLifecycle


class ProjectProvider(LifecycleProvider):
    lifecycle = ProjectLifecycle


class DatasetProvider(LifecycleProvider):
    lifecycle = DatasetLifecycle


class ExperimentProvider(LifecycleProvider):
    lifecycle = ExperimentLifecycle


class DeploymentProvider(LifecycleProvider):
    lifecycle = DeploymentLifecycle


class ReadinessProvider(LifecycleProvider):
    lifecycle = ReadinessLifecycle


class GradientResource(Resource):
    """Shared constructor: the kind's provider, and its computed outputs declared so they become attributes.

    Never instantiated itself; each subclass sets its type token (module/name) and provider class.
    """

    provider_class: ClassVar[type[LifecycleProvider]]

    def __init__(self, resource_name: str, inputs: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        table = self.provider_class.lifecycle.table
        props = {**{name: None for name in table.outputs}, **{k: v for k, v in inputs.items() if v is not None}}
        super().__init__(self.provider_class(), resource_name, props, opts)


class Project(GradientResource, module="gradient", name="Project"):
    provider_class = ProjectProvider
    name: pulumi.Output[str]
    projectId: pulumi.Output[str]


class Dataset(GradientResource, module="gradient", name="Dataset"):
    provider_class = DatasetProvider
    datasetId: pulumi.Output[str]


class Experiment(GradientResource, module="gradient", name="Experiment"):
    provider_class = ExperimentProvider
    workflowId: pulumi.Output[str]
    runNumber: pulumi.Output[int]
    phase: pulumi.Output[str]
    modelId: pulumi.Output[str | None]


class Deployment(GradientResource, module="gradient", name="Deployment"):
    provider_class = DeploymentProvider
    deploymentId: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    status: pulumi.Output[str]


class Readiness(GradientResource, module="gradient", name="Readiness"):
    """The stack's one wait for every deployment and experiment deferred to it (gradient_provider/readiness)."""

    provider_class = ReadinessProvider
    statuses: pulumi.Output[dict[str, Any]]


# kind name (the table's) -> its resource class, for the program
RESOURCES: dict[str, type[GradientResource]] = {
    cls.provider_class.lifecycle.table.kind: cls for cls in (Project, Dataset, Experiment, Deployment)
}
