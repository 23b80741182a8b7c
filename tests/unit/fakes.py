"""Fakes at the seams for in-process unit tests: a fake clock and an in-memory Paperspace API.

The fake API keeps the v1 shapes the client parses (tests/contract proves those against the OpenAPI); its
runs and deployments move on with the fake clock, so a test decides how long things take and nothing waits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gradient_provider.client import ConnectionFailedError, InvalidRequestError, NotFoundError, PaperspaceApi
from gradient_provider.client.models import (
    Deployment,
    DeploymentInstance,
    DeploymentRun,
    DeploymentSpec,
    JobLog,
    JobStatus,
    LogLine,
    Model,
    Project,
    Workflow,
    WorkflowRun,
)


class FakeClock:
    """Time that passes only when something sleeps on it."""

    def __init__(self) -> None:
        self.time = 1_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        # Time moves on by at least one float step: a wait's last sleep (up to its deadline) can be shorter than
        # the step at `time`, and `time + seconds` would then stay `time`, so the wait never reached its deadline.
        self.time = max(self.time + seconds, math.nextafter(self.time, math.inf)) if seconds > 0 else self.time


@dataclass
class FakeRun:
    number: int
    spec: dict[str, Any]
    started: float
    duration: float
    outcome: str  # the phase it ends in
    message: str | None = None
    canceled: bool = False
    models: dict[str, str] = field(default_factory=dict)  # job -> model id it registers


@dataclass
class FakeDeployment:
    id: str
    project_id: str
    config: dict[str, Any]
    spec_id: str
    applied_at: float
    ready_at: float | None  # None: never ready
    instance_error: str | None = None


def _missing(what: str) -> NotFoundError:
    return NotFoundError(f"GET /v1/{what}", f"{what} not found", status=404)


class FakeApi(PaperspaceApi):
    """In-memory v1 with knobs: ``run_seconds``, ``run_outcome``, ``ready_seconds``, ``instance_error``."""

    def __init__(self, clock: FakeClock) -> None:  # no HTTP client: every method is answered here
        self.clock = clock
        self.ids = itertools.count(1)
        self.projects: dict[str, str] = {}
        self.deployments: dict[str, FakeDeployment] = {}
        self.workflows: dict[str, tuple[str, str, dict[str, Any]]] = {}  # id -> (project, name, spec)
        self.runs: dict[str, list[FakeRun]] = {}
        self.secrets: dict[tuple[str, str], str] = {}
        self.calls: list[str] = []
        self.run_seconds = 10.0
        self.run_outcome = "Succeeded"
        self.run_message: str | None = None
        self.ready_seconds: float | None = 5.0
        self.instance_error: str | None = None
        self.refuse_runs = False
        self.crash_after: str | None = None
        self.tags: dict[str, set[str]] = {}
        self.refuse_upserts = False
        self.lose_upserts = False

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}"

    def _maybe_crash(self, call: str) -> None:
        """As if the provider process died right after ``call`` was applied (set ``crash_after``)."""
        if self.crash_after == call:
            self.crash_after = None
            raise ConnectionFailedError(f"{call}", "the provider process was killed")

    # -- projects
    def create_project(self, name: str) -> Project:
        self.calls.append("create_project")
        ident = self._id("pr")
        self.projects[ident] = name
        self._maybe_crash("create_project")
        return Project(ident, name)

    def project_tags(self, project_id: str) -> list[str]:
        self.get_project(project_id)
        return sorted(self.tags.get(project_id, set()))

    def tag_project(self, project_id: str, tag: str) -> None:
        self.calls.append("tag_project")
        self.get_project(project_id)
        self.tags.setdefault(project_id, set()).add(tag)
        self._maybe_crash("tag_project")

    def get_project(self, project_id: str) -> Project:
        if project_id not in self.projects:
            raise _missing(f"projects/{project_id}")
        return Project(project_id, self.projects[project_id])

    def list_projects(self) -> list[Project]:
        return [Project(i, n) for i, n in self.projects.items()]

    def rename_project(self, project_id: str, name: str) -> Project:
        self.calls.append("rename_project")
        self.get_project(project_id)
        self.projects[project_id] = name
        self._maybe_crash("rename_project")
        return Project(project_id, name)

    def delete_project(self, project_id: str) -> None:
        self.calls.append("delete_project")
        self.get_project(project_id)
        del self.projects[project_id]

    # -- deployments
    def upsert_deployment(self, project_id: str, config: dict[str, Any], deployment_id: str | None = None) -> str:
        self.calls.append("upsert_deployment")
        if self.refuse_upserts:
            raise InvalidRequestError("POST /v1/deployments", "invalid deployment", status=400)
        if self.lose_upserts:  # applied, then the answer lost and every retry spent
            self.lose_upserts = False
            self.upsert_deployment(project_id, config, deployment_id)
            raise ConnectionFailedError("POST /v1/deployments", "connection dropped")
        found = self.deployments.get(deployment_id or "") or next(
            (d for d in self.deployments.values() if d.project_id == project_id and d.config["name"] == config["name"]),
            None,
        )
        now = self.clock.now()
        ready_seconds, instance_error = self._spec_hooks(config)
        ready = None if ready_seconds is None else now + ready_seconds
        if found is None:
            found = FakeDeployment(self._id("de"), project_id, config, self._id("sp"), now, ready, instance_error)
            self.deployments[found.id] = found
        elif found.config != config:
            found.config, found.spec_id, found.applied_at, found.ready_at = config, self._id("sp"), now, ready
            found.instance_error = instance_error
        return found.id

    def _spec_hooks(self, config: dict[str, Any]) -> tuple[float | None, str | None]:
        """(seconds until ready, instance error) of one spec: the knobs, or the emulator's hooks in its env
        (``EMULATOR_READY_SECONDS``, ``EMULATOR_CRASH=1``), so one spec can fail while another is healthy."""
        env = {item["name"]: item["value"] for item in config.get("env") or []}
        ready_seconds = float(env["EMULATOR_READY_SECONDS"]) if "EMULATOR_READY_SECONDS" in env else self.ready_seconds
        crash = "container exited with code 1: crash requested by EMULATOR_CRASH=1"
        return ready_seconds, self.instance_error or (crash if env.get("EMULATOR_CRASH") == "1" else None)

    def get_deployment(self, deployment_id: str) -> Deployment:
        found = self.deployments.get(deployment_id)
        if found is None:
            raise _missing(f"deployments/{deployment_id}")
        now = self.clock.now()
        healthy = "t" if found.ready_at is not None and now >= found.ready_at and not found.instance_error else None
        spec = DeploymentSpec(found.spec_id, found.config, "t", healthy, None)
        return Deployment(found.id, found.config["name"], found.project_id, f"{found.id}.fake.invalid", spec)

    def find_deployment(self, project_id: str, name: str) -> Deployment | None:
        for found in self.deployments.values():
            if found.project_id == project_id and found.config["name"] == name:
                return self.get_deployment(found.id)
        return None

    def deployment_runs(self, deployment_id: str) -> list[DeploymentRun]:
        found = self.deployments[deployment_id]
        replicas = int(found.config["resources"]["replicas"])
        if found.instance_error:
            return [DeploymentRun(replicas, 0, (DeploymentInstance("i1", "errored", found.instance_error),))]
        ready = replicas if found.ready_at is not None and self.clock.now() >= found.ready_at else 0
        return [DeploymentRun(replicas, ready, ())]

    def delete_deployment(self, deployment_id: str) -> None:
        self.calls.append("delete_deployment")
        if self.deployments.pop(deployment_id, None) is None:
            raise _missing(f"deployments/{deployment_id}")

    # -- workflows and runs
    def list_workflows(self, project_id: str) -> list[Workflow]:
        return [Workflow(i, n, s) for i, (p, n, s) in self.workflows.items() if p == project_id]

    def create_workflow(self, project_id: str, name: str, spec: dict[str, Any]) -> Workflow:
        self.calls.append("create_workflow")
        ident = self._id("wf")
        self.workflows[ident] = (project_id, name, spec)
        self.runs[ident] = []
        return Workflow(ident, name, spec)

    def get_workflow(self, workflow_id: str) -> Workflow:
        if workflow_id not in self.workflows:
            raise _missing(f"workflows/{workflow_id}")
        _, name, spec = self.workflows[workflow_id]
        return Workflow(workflow_id, name, spec)

    def delete_workflow(self, workflow_id: str) -> None:
        self.calls.append("delete_workflow")
        self.get_workflow(workflow_id)
        del self.workflows[workflow_id]

    def _view(self, run: FakeRun) -> WorkflowRun:
        now = self.clock.now()
        ended = run.canceled or now >= run.started + run.duration
        phase = "Canceled" if run.canceled else (run.outcome if ended else "Running")
        jobs = {name: JobStatus(phase, None, None, None, {}) for name in run.spec.get("jobs", {})}
        if phase == "Succeeded":
            for job, model_id in run.models.items():
                jobs[job] = JobStatus("Succeeded", None, None, None, {"model-id": model_id})
        message = run.message if phase not in ("Running", "Succeeded") else None
        return WorkflowRun(
            run.number, f"uuid-{run.number}", run.spec, phase, message, "t", "t" if ended else None, jobs
        )

    def list_runs(self, workflow_id: str) -> list[WorkflowRun]:
        self.get_workflow(workflow_id)
        return [self._view(run) for run in self.runs[workflow_id]]

    def get_run(self, workflow_id: str, number: int) -> WorkflowRun:
        return self._view(self.runs[workflow_id][number - 1])

    def start_run(
        self, workflow_id: str, spec: dict[str, Any], matches: Callable[[dict[str, Any]], bool] | None = None
    ) -> WorkflowRun:
        self.calls.append("start_run")
        if self.refuse_runs:
            raise InvalidRequestError("POST /v1/workflows/x/runs", "invalid workflow run", status=400)
        runs = self.runs[workflow_id]
        run = FakeRun(len(runs) + 1, spec, self.clock.now(), self.run_seconds, self.run_outcome, self.run_message)
        if "create-model" in spec.get("jobs", {}):
            run.models["create-model"] = self._id("mo")  # registered when the run succeeds
        runs.append(run)
        return self._view(run)

    def cancel_run(self, workflow_id: str, number: int) -> None:
        self.calls.append("cancel_run")
        self.runs[workflow_id][number - 1].canceled = True

    # -- secrets and models
    def put_secret(self, project_id: str, name: str, value: str) -> bool:
        self.calls.append(f"put_secret {name}")
        created = (project_id, name) not in self.secrets
        self.secrets[(project_id, name)] = value
        return created

    def delete_secret(self, project_id: str, name: str) -> None:
        self.calls.append(f"delete_secret {name}")
        self.secrets.pop((project_id, name), None)

    def list_models(self, project_id: str) -> list[Model]:
        found = []
        for workflow_id, (project, _, _) in self.workflows.items():
            for run in self.runs[workflow_id]:
                if project == project_id and self._view(run).phase == "Succeeded":
                    name = run.spec["jobs"]["create-model"]["with"]["name"] if run.models else None
                    created = f"{run.started + run.duration:020.3f}"
                    found += [Model(model_id, str(name), project, created) for model_id in run.models.values()]
        return found

    # -- run logs and datasets (a job logs `job_logs[job]` lines, or one line naming itself)
    job_logs: dict[str, list[str]] = {}  # noqa: RUF012 - replaced per test, never mutated in place

    def run_logs(self, workflow_id: str, run: WorkflowRun) -> list[JobLog]:
        self.calls.append("run_logs")
        return [
            JobLog(name, job.phase, job.message, tuple(LogLine("t", text) for text in self.job_logs.get(name, [name])))
            for name, job in run.jobs.items()
        ]

    def project_deployments(self, project_id: str) -> list[Deployment]:
        return [self.get_deployment(d.id) for d in self.deployments.values() if d.project_id == project_id]
