"""Typed views of the v1 objects the provider uses, read as the published OpenAPI describes them.

Each parser reads only documented fields (tests/contract/openapi/<operation>.json) and tolerates every
optional or nullable one being absent or null; undocumented fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Workflow run and job phases: the one enum the OpenAPI gives (deploymentHistory-list, workflowRun.phase).
# The run endpoints type `phase` as a plain string, and a 2021 example reads SUCCEEDED, so phases are matched
# without regard to case and returned in this spelling.
RUN_PHASES = (
    "Initializing",
    "Submitting",
    "Pending",
    "Running",
    "Succeeded",
    "Skipped",
    "Failed",
    "Error",
    "Omitted",
    "Canceled",
)
FAILED_RUN_PHASES = frozenset({"Failed", "Error", "Canceled", "Skipped", "Omitted"})
_PHASE_SPELLING = {phase.lower(): phase for phase in RUN_PHASES} | {"cancelled": "Canceled"}


def canonical_phase(raw: Any) -> str:
    text = str(raw or "Pending")
    return _PHASE_SPELLING.get(text.lower(), text)


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
    data: dict[str, Any]  # the config as submitted: apiVersion v1, or the older v0alpha0/v0alpha1 shapes
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
    endpoint: str | None  # a host name in v1 (no scheme)
    latest_spec: DeploymentSpec | None

    @property
    def url(self) -> str | None:
        if not self.endpoint:
            return None
        return self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        spec = data.get("latestSpec")
        return cls(
            str(data["id"]),
            str(data.get("name") or ""),
            str(data["projectId"]),
            data.get("endpoint") or None,
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
    """A workflow as v1 returns it: no project (the provider keeps that in state)."""

    id: str
    name: str
    spec: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workflow:
        return cls(str(data["id"]), str(data.get("name") or ""), data.get("spec"))


@dataclass(frozen=True)
class JobStatus:
    phase: str
    message: str | None
    started: str | None
    finished: str | None
    outputs: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobStatus:
        return cls(
            canonical_phase(data.get("phase")),
            data.get("message"),
            data.get("started"),
            data.get("finished"),
            dict(data.get("outputs") or {}),
        )


@dataclass(frozen=True)
class WorkflowRun:
    """A run; ``number`` is its v1 ``id``, the per-workflow sequence number used in run URLs."""

    number: int
    uuid: str
    spec: dict[str, Any]
    phase: str
    message: str | None
    started: str | None
    finished: str | None
    jobs: dict[str, JobStatus]

    @property
    def failed(self) -> bool:
        """Ended without success. v1 types the phase as a free string: one it does not list is not a failure."""
        return self.phase in FAILED_RUN_PHASES

    @property
    def active(self) -> bool:
        """Still going: Initializing, Submitting, Pending, Running, or a phase v1 does not list (a wait on it is
        bounded by timeoutSeconds, never concluded from a guess)."""
        return self.phase != "Succeeded" and not self.failed

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkflowRun:
        status = data.get("status") or {}
        return cls(
            int(data["id"]),
            str(data.get("uuid") or ""),
            dict(data.get("spec") or {}),
            canonical_phase(status.get("phase")),
            status.get("message"),
            status.get("started"),
            status.get("finished"),
            {name: JobStatus.from_json(job or {}) for name, job in (status.get("jobs") or {}).items()},
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


@dataclass(frozen=True)
class Dataset:
    """A v1 dataset: a team's persistent, versioned data (no project: datasets belong to the team)."""

    id: str
    name: str
    description: str | None
    storage_provider_id: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Dataset:
        return cls(str(data["id"]), str(data.get("name") or ""), data.get("description"), data.get("storageProviderId"))


@dataclass(frozen=True)
class DatasetVersion:
    dataset_id: str
    version: str
    committed: bool
    message: str | None
    size_bytes: int | None  # v1 sends usageBytes as a string
    dt_created: str

    @property
    def ref(self) -> str:
        """How a workflow spec names this version: ``<datasetId>:<version>``."""
        return f"{self.dataset_id}:{self.version}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetVersion:
        usage = data.get("usageBytes")
        return cls(
            str(data["datasetId"]),
            str(data["version"]),
            bool(data.get("isCommitted")),
            data.get("message"),
            int(usage) if isinstance(usage, (int, str)) and str(usage).isdigit() else None,
            str(data.get("dtCreated") or ""),
        )


@dataclass(frozen=True)
class LogLine:
    time: str
    message: str


@dataclass(frozen=True)
class JobLog:
    """One job of a run and the lines it logged (workflowRunLogs-list: an array of jobs, each with its logs)."""

    name: str
    phase: str
    message: str | None
    lines: tuple[LogLine, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobLog:
        lines = tuple(
            LogLine(str(line.get("dtCreated") or ""), str(line.get("message") or ""))
            for line in data.get("logs") or []
            if isinstance(line, dict)
        )
        return cls(str(data.get("name") or ""), canonical_phase(data.get("phase")), data.get("message"), lines)
