"""The life of a workflow run, derived from its creation time, its spec and a cancel time (no threads).

A run is Pending for QUEUE_SECONDS, then Running: every job whose ``needs`` have succeeded starts. A job
runs ``EMULATOR_RUN_SECONDS`` (default RUN_SECONDS), then Succeeded, or Failed when ``EMULATOR_EXIT_CODE``
is non-zero. The run fails when its first job fails: jobs still running are Canceled, jobs not started are
Skipped. It succeeds when every job succeeded, and a cancel before either makes it (and its unfinished jobs)
Canceled. Phases are from the OpenAPI's only phase enum (deploymentHistory-list ``workflowRun.phase``).
Every duration is multiplied by the time scale.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

from . import hooks
from .workflow_spec import CREATE_MODEL, job_env

QUEUE_SECONDS = 1.0
RUN_SECONDS = 3.0

PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, CANCELED = (
    "Pending",
    "Running",
    "Succeeded",
    "Failed",
    "Skipped",
    "Canceled",
)
TERMINAL_PHASES = frozenset({SUCCEEDED, FAILED, CANCELED})
CANCEL_MESSAGE = "canceled by request"


@dataclass(frozen=True)
class JobPlan:
    name: str
    start: float | None  # None: a needed job failed, so this one never starts
    end: float | None
    exit_code: int
    reason: str | None = None  # why it failed, when more is known than its exit code (a download found nothing)

    @property
    def failure(self) -> str:
        return self.reason or f"exited with code {self.exit_code}"


@dataclass(frozen=True)
class RunPlan:
    created_at: float
    queued_until: float
    jobs: dict[str, JobPlan]  # in the spec's order
    finished_at: float  # when the run ends unless canceled first
    outcome: str  # Succeeded or Failed
    failed_job: str | None


@dataclass(frozen=True)
class JobState:
    phase: str
    started: float | None = None
    finished: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class RunState:
    phase: str
    started: float | None
    finished: float | None
    message: str | None
    jobs: dict[str, JobState]
    modified: float  # the latest change so far (dtModified, for ordering)


def plan(
    spec: dict[str, Any], created_at: float, time_scale: float, outcomes: Mapping[str, Sequence[Any]] | None = None
) -> RunPlan:
    """``outcomes``: (exit code, message) of jobs whose end was decided when they started (an
    `s3-download@v1` job that found nothing to copy), over their hooks."""
    jobs: dict[str, Any] = spec["jobs"]
    queued_until = created_at + QUEUE_SECONDS * time_scale
    order = list(TopologicalSorter({n: jobs[n].get("needs", []) for n in jobs}).static_order())
    plans: dict[str, JobPlan] = {}
    for name in order:
        job = jobs[name]
        env = job_env(spec, job)
        needs = [plans[n] for n in job.get("needs", [])]
        exit_code = hooks.exit_code_or(env.get("EMULATOR_EXIT_CODE"))
        reason = None
        if outcomes and name in outcomes and int(outcomes[name][0]) != 0:
            exit_code, reason = int(outcomes[name][0]), str(outcomes[name][1] or "") or None
        if any(n.start is None or n.exit_code != 0 for n in needs):
            plans[name] = JobPlan(name, None, None, exit_code, reason)
            continue
        start = max((n.end for n in needs if n.end is not None), default=queued_until)
        duration = hooks.seconds_or(env.get("EMULATOR_RUN_SECONDS"), RUN_SECONDS) * time_scale
        plans[name] = JobPlan(name, start, start + duration, exit_code, reason)
    plans = {name: plans[name] for name in jobs}  # shown in the spec's order
    failures = sorted((p.end, p.name) for p in plans.values() if p.end is not None and p.exit_code != 0)
    if failures:
        finished_at, failed_job = failures[0]
        return RunPlan(created_at, queued_until, plans, finished_at, FAILED, failed_job)
    finished_at = max((p.end for p in plans.values() if p.end is not None), default=queued_until)
    return RunPlan(created_at, queued_until, plans, finished_at, SUCCEEDED, None)


def state(run_plan: RunPlan, canceled_at: float | None, now: float) -> RunState:
    canceled = canceled_at is not None and canceled_at < run_plan.finished_at
    stop_at = canceled_at if canceled and canceled_at is not None else run_plan.finished_at
    stopped = now >= stop_at
    if stopped:
        phase = CANCELED if canceled else run_plan.outcome
    elif now < run_plan.queued_until:
        phase = PENDING
    else:
        phase = RUNNING
    message = None
    if phase == CANCELED:
        message = CANCEL_MESSAGE
    elif phase == FAILED and run_plan.failed_job is not None:
        message = f"job {run_plan.failed_job!r} failed: {run_plan.jobs[run_plan.failed_job].failure}"
    began = now >= run_plan.queued_until and stop_at > run_plan.queued_until
    jobs = {
        name: _job_state(job, stop_at if stopped else None, canceled, run_plan.failed_job, now)
        for name, job in run_plan.jobs.items()
    }
    events = [run_plan.created_at, run_plan.queued_until, stop_at]
    events += [t for job in jobs.values() for t in (job.started, job.finished) if t is not None]
    return RunState(
        phase=phase,
        started=run_plan.queued_until if began else None,
        finished=stop_at if stopped else None,
        message=message,
        jobs=jobs,
        modified=max(t for t in events if t <= now),
    )


def _job_state(job: JobPlan, stop_at: float | None, canceled: bool, failed_job: str | None, now: float) -> JobState:
    why = CANCEL_MESSAGE if canceled else f"job {failed_job!r} failed"
    if job.start is None or job.end is None:
        if stop_at is None:
            return JobState(PENDING)
        return JobState(SKIPPED, message=f"skipped: {why}")
    if stop_at is not None and job.start >= stop_at:
        return JobState(CANCELED if canceled else SKIPPED, message=f"{'canceled' if canceled else 'skipped'}: {why}")
    if stop_at is not None and job.end > stop_at:
        return JobState(CANCELED, job.start, stop_at, f"canceled: {why}")
    if now < job.start:
        return JobState(PENDING)
    if now < job.end:
        return JobState(RUNNING, job.start)
    if job.exit_code == 0:
        return JobState(SUCCEEDED, job.start, job.end)
    return JobState(FAILED, job.start, job.end, job.failure)


def log_lines(spec: dict[str, Any], name: str, job_state: JobState) -> list[tuple[float, str]]:
    """The lines a job has logged so far, with their times: nothing until it starts, then its command,
    then its end. Deterministic: the same spec and state always give the same lines."""
    if job_state.started is None:
        return []
    job: dict[str, Any] = spec["jobs"][name]
    instance = job.get("resources", {}).get("instance-type") or spec.get("defaults", {}).get("resources", {}).get(
        "instance-type"
    )
    lines = [
        (job_state.started, f"Starting job {name!r} ({job['uses']}) on {instance}"),
        (job_state.started, _action_line(job)),
    ]
    if job_state.finished is not None:
        if job_state.phase == SUCCEEDED:
            lines.append((job_state.finished, f"Job {name!r} succeeded: exited with code 0"))
        elif job_state.phase == FAILED:
            lines.append((job_state.finished, f"Job {name!r} failed: {job_state.message}"))
        else:
            lines.append((job_state.finished, f"Job {name!r} {job_state.message}"))
    return lines


def _action_line(job: dict[str, Any]) -> str:
    uses: str = job["uses"]
    with_: dict[str, Any] = job.get("with", {})
    if uses == "container@v1":
        command_word, args = with_.get("command"), with_.get("args")
        words = ([command_word] if isinstance(command_word, str) else []) + (
            [str(arg) for arg in args] if isinstance(args, list) else []
        )
        command = shlex.join(words) if words else "(the image's default command)"
        return f"Running {with_.get('image')}: {command}"
    if uses == "script@v1":
        lines = str(with_.get("script", "")).count("\n") + 1
        return f"Running a script of {lines} line(s) in {with_.get('image')}"
    if uses == "git-checkout@v1":
        ref = with_.get("ref")
        return f"Checking out {with_.get('url')}" + (f" at {ref}" if ref else "")
    if uses == "s3-download@v1":
        return f"Downloading {with_.get('url')}"
    if uses == CREATE_MODEL:
        return f"Creating model {with_.get('name')!r} ({with_.get('type', 'Custom')}) from input 'model'"
    return f"Running {uses}"
