"""Typed views of the v1 objects the provider uses. Unknown fields are ignored; ``raw`` keeps the whole body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVE_RUN_PHASES = frozenset({"Pending", "Running"})


@dataclass(frozen=True)
class Project:
    id: str
    name: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Project:
        return cls(str(data["id"]), str(data["name"]))


@dataclass(frozen=True)
class DeploymentSpec:
    id: str
    data: dict[str, Any]
    external_applied: str | None
    dt_healthy: str | None
    error: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentSpec:
        return cls(
            str(data["id"]),
            dict(data.get("data") or {}),
            data.get("externalApplied"),
            data.get("dtHealthy"),
            data.get("error"),
        )


@dataclass(frozen=True)
class Deployment:
    id: str
    name: str
    project_id: str
    endpoint: str | None
    latest_spec: DeploymentSpec | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        spec = data.get("latestSpec")
        return cls(
            str(data["id"]),
            str(data["name"]),
            str(data["projectId"]),
            data.get("endpoint"),
            DeploymentSpec.from_json(spec) if spec else None,
        )


@dataclass(frozen=True)
class DeploymentInstance:
    id: str
    state: str
    message: str | None

    @property
    def failed(self) -> bool:
        return self.state.lower() in ("errored", "failed", "error")


@dataclass(frozen=True)
class DeploymentRun:
    replicas: int
    ready_replicas: int
    instances: tuple[DeploymentInstance, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentRun:
        instances = tuple(
            DeploymentInstance(str(i.get("id", "")), str(i.get("state", "")), i.get("stateMessage"))
            for i in data.get("instances") or []
        )
        return cls(int(data.get("replicas") or 0), int(data.get("readyReplicas") or 0), instances)


@dataclass(frozen=True)
class Workflow:
    id: str
    name: str
    project_id: str
    spec: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workflow:
        return cls(str(data["id"]), str(data["name"]), str(data["projectId"]), data.get("spec"))


@dataclass(frozen=True)
class WorkflowRun:
    seq: int
    spec: dict[str, Any]
    phase: str
    message: str | None
    started: str | None
    finished: str | None
    jobs: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_RUN_PHASES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkflowRun:
        status = data.get("status") or {}
        return cls(
            int(data["seq"]),
            dict(data.get("spec") or {}),
            str(status.get("phase", "Pending")),
            status.get("message"),
            status.get("started"),
            status.get("finished"),
            dict(status.get("jobs") or {}),
        )


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    project_id: str | None
    dt_created: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(str(data["id"]), str(data["name"]), data.get("projectId"), str(data.get("dtCreated", "")))
