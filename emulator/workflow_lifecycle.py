"""The life of a workflow run, derived from its creation time, its spec and a cancel time (no threads).

A run waits QUEUE_SECONDS (Pending), then starts every job whose ``needs`` have succeeded. A job runs
``EMULATOR_RUN_SECONDS`` (default RUN_SECONDS) and then succeeds, or fails when ``EMULATOR_EXIT_CODE``
is non-zero. The run fails when its first job fails (jobs still running are cancelled and jobs not yet
started are skipped), succeeds when every job succeeded, and is cancelled by a cancel before either.
Every duration is multiplied by the time scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from .clock import iso
from .errors import Issue

QUEUE_SECONDS = 1.0
RUN_SECONDS = 3.0
TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Cancelled"})


@dataclass(frozen=True)
class JobPlan:
    name: str
    start: float | None  # None: a needed job failed, so this one never starts
    end: float | None
    exit_code: int


@dataclass(frozen=True)
class RunPlan:
    queued_until: float
    jobs: dict[str, JobPlan]
    finished_at: float  # when the run ends unless cancelled first
    outcome: str  # Succeeded or Failed
    failed_job: str | None


def job_env(spec: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    return {**spec.get("defaults", {}).get("env", {}), **job.get("env", {})}


def semantic_issues(spec: dict[str, Any], prefix: str = "spec") -> list[Issue]:
    """Problems JSON Schema cannot express: unknown or cyclic ``needs``, missing image or instance type."""
    issues: list[Issue] = []
    jobs: dict[str, Any] = spec.get("jobs", {})
    default_type = spec.get("defaults", {}).get("resources", {}).get("instance-type")
    for name, job in jobs.items():
        path = f"{prefix}.jobs.{name}"
        for needed in job.get("needs", []):
            if needed not in jobs:
                issues.append(Issue(f"{path}.needs", f"needs unknown job {needed!r}"))
        if job.get("uses", "").startswith("container@") and not job.get("with", {}).get("image"):
            issues.append(Issue(f"{path}.with.image", "a container job needs an image"))
        if not job.get("resources", {}).get("instance-type") and not default_type:
            issues.append(Issue(f"{path}.resources.instance-type", "no instance type here or in defaults"))
        env = job_env(spec, job)
        for hook in ("EMULATOR_RUN_SECONDS", "EMULATOR_EXIT_CODE"):
            if hook in env and not _is_number(env[hook], integer=hook == "EMULATOR_EXIT_CODE"):
                issues.append(Issue(f"{path}.env.{hook}", f"must be a number, got {env[hook]!r}"))
    if not issues:
        try:
            tuple(TopologicalSorter({n: j.get("needs", []) for n, j in jobs.items()}).static_order())
        except CycleError as error:
            issues.append(Issue(f"{prefix}.jobs", f"jobs need each other in a cycle: {' -> '.join(error.args[1])}"))
    return issues


def plan(spec: dict[str, Any], created_at: float, time_scale: float) -> RunPlan:
    jobs: dict[str, Any] = spec["jobs"]
    queued_until = created_at + QUEUE_SECONDS * time_scale
    plans: dict[str, JobPlan] = {}
    for name in TopologicalSorter({n: j.get("needs", []) for n, j in jobs.items()}).static_order():
        job = jobs[name]
        env = job_env(spec, job)
        needs = [plans[n] for n in job.get("needs", [])]
        exit_code = int(env.get("EMULATOR_EXIT_CODE", "0"))
        if any(n.start is None or n.exit_code != 0 for n in needs):
            plans[name] = JobPlan(name, None, None, exit_code)
            continue
        start = max((n.end for n in needs if n.end is not None), default=queued_until)
        duration = float(env.get("EMULATOR_RUN_SECONDS", RUN_SECONDS)) * time_scale
        plans[name] = JobPlan(name, start, start + duration, exit_code)
    failures = sorted((p.end, p.name) for p in plans.values() if p.end is not None and p.exit_code != 0)
    if failures:
        finished_at, failed_job = failures[0]
        return RunPlan(queued_until, plans, finished_at, "Failed", failed_job)
    finished_at = max((p.end for p in plans.values() if p.end is not None), default=queued_until)
    return RunPlan(queued_until, plans, finished_at, "Succeeded", None)


def status(run_plan: RunPlan, cancelled_at: float | None, now: float) -> dict[str, Any]:
    cancelled = cancelled_at is not None and cancelled_at < run_plan.finished_at
    stop_at = cancelled_at if cancelled and cancelled_at is not None else run_plan.finished_at
    stopped = now >= stop_at
    if stopped:
        phase = "Cancelled" if cancelled else run_plan.outcome
    elif now < run_plan.queued_until:
        phase = "Pending"
    else:
        phase = "Running"
    message = None
    if phase == "Cancelled":
        message = "run cancelled by request"
    elif phase == "Failed" and run_plan.failed_job is not None:
        code = run_plan.jobs[run_plan.failed_job].exit_code
        message = f"job {run_plan.failed_job!r} failed: exited with code {code} (EMULATOR_EXIT_CODE)"
    began = now >= run_plan.queued_until and stop_at > run_plan.queued_until
    return {
        "phase": phase,
        "message": message,
        "started": iso(run_plan.queued_until) if began else None,
        "finished": iso(stop_at) if stopped else None,
        "jobs": {
            name: _job_status(job, stop_at if stopped else None, cancelled, now) for name, job in run_plan.jobs.items()
        },
    }


def _job_status(job: JobPlan, stop_at: float | None, cancelled: bool, now: float) -> dict[str, Any]:
    if job.start is None or job.end is None:
        return {"phase": "Skipped" if stop_at is not None else "Pending", "started": None, "finished": None}
    if stop_at is not None and job.start >= stop_at:
        return {"phase": "Cancelled" if cancelled else "Skipped", "started": None, "finished": None}
    if stop_at is not None and job.end > stop_at:
        return {"phase": "Cancelled", "started": iso(job.start), "finished": iso(stop_at)}
    if now < job.start:
        return {"phase": "Pending", "started": None, "finished": None}
    if now < job.end:
        return {"phase": "Running", "started": iso(job.start), "finished": None}
    result: dict[str, Any] = {
        "phase": "Succeeded" if job.exit_code == 0 else "Failed",
        "started": iso(job.start),
        "finished": iso(job.end),
        "exitCode": job.exit_code,
    }
    if job.exit_code != 0:
        result["message"] = f"exited with code {job.exit_code}"
    return result


def model_outputs(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(job, output key, output) for every output of type ``model``: registered when the run succeeds."""
    return [
        (job_name, key, output)
        for job_name, job in spec["jobs"].items()
        for key, output in job.get("outputs", {}).items()
        if output.get("type") == "model"
    ]


def _is_number(raw: str, *, integer: bool) -> bool:
    try:
        int(raw) if integer else float(raw)
    except ValueError:
        return False
    return True
