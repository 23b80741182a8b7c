"""``logs`` and ``artifacts``: what an experiment's runs printed and committed, read from Paperspace.

The experiment is found the way the provider finds it, without Pulumi state: the stack file gives its project
and workflow names; the project is the one of that name (the one tagged for this stack entry when several
share it). The API URL comes from ``Pulumi.<stack>.yaml`` (``gradient:apiUrl``) or PAPERSPACE_API_URL, the key
from PAPERSPACE_API_KEY (secret config is encrypted: only Pulumi can read it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import GradientApiError, GradientClient, PaperspaceApi
from .client.models import JobLog, WorkflowRun
from .credentials import mask_text
from .kinds import Kind, registry
from .kinds.kind import NotOnPaperspaceError
from .stack import load_stack
from .stack_settings import StackSettingsError, pulumi_project_name, stack_settings
from .yaml_source import SourceError

FOLLOW_POLL_SECONDS = 2.0


class RunsError(Exception):
    """What the user gets instead of a traceback: one line saying what to fix."""


@dataclass(frozen=True)
class Located:
    api: PaperspaceApi
    workflow_id: str
    runs: list[WorkflowRun]
    versions: Callable[[WorkflowRun], list[dict[str, Any]]]  # the dataset versions a run committed


def _with_runs() -> Kind:
    """The kind whose objects have runs (the registry's experiments)."""
    return next(kind for kind in registry() if kind.runs is not None)


def locate(stack: str, key: str, root: Path) -> Located:
    """The entry's workflow and runs, from ``stacks/<stack>.yaml`` and the API."""
    kind = _with_runs()
    assert kind.runs is not None
    try:
        declared = load_stack(root / "stacks" / f"{stack}.yaml", local=False)  # no workspace is read
    except SourceError as error:
        raise RunsError(f"the stack file is invalid:\n{error}") from None
    entries = declared.section(kind.section)
    if key not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise RunsError(f"stacks/{stack}.yaml has no {kind.noun} {key!r} (its {kind.section}: {known})")
    try:
        api = PaperspaceApi(GradientClient(stack_settings(stack, root)))
    except StackSettingsError as error:
        raise RunsError(str(error)) from None
    try:
        workflow_id, runs = kind.runs.find(api, declared, key, pulumi_project_name(root), stack)
    except NotOnPaperspaceError as error:
        raise RunsError(str(error)) from None
    return Located(api, workflow_id, runs, kind.runs.versions)


def _run(located: Located, number: int | None) -> WorkflowRun:
    if not located.runs:
        raise RunsError("the experiment has no run yet")
    if number is None:
        return located.runs[-1]
    found = next((run for run in located.runs if run.number == number), None)
    if found is None:
        raise RunsError(f"no run {number}; the runs are {', '.join(str(r.number) for r in located.runs)}")
    return found


def print_logs(
    located: Located,
    number: int | None,
    job: str | None,
    follow: bool,
    write: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """A run's log lines, job by job (``[job] line``); with ``follow``, new lines until the run ends."""
    run = _run(located, number)
    if job is not None and job not in run.jobs and job not in (run.spec.get("jobs") or {}):
        raise RunsError(f"run {run.number} has no job {job!r}; its jobs: {', '.join(run.jobs)}")
    shown: dict[str, int] = {}
    while True:
        for entry in _logs(located, run):
            if job is not None and entry.name != job:
                continue
            for line in entry.lines[shown.get(entry.name, 0) :]:
                write(f"[{entry.name}] {mask_text(line.message)}")
            shown[entry.name] = len(entry.lines)
        if not follow or not run.active:
            return
        sleep(FOLLOW_POLL_SECONDS)
        run = located.api.get_run(located.workflow_id, run.number)


def _logs(located: Located, run: WorkflowRun) -> list[JobLog]:
    return located.api.run_logs(located.workflow_id, run)


def print_artifacts(located: Located, number: int | None, write: Callable[[str], None]) -> None:
    """Each job's artifacts version per run (or of one run): id, size and when it was created."""
    runs = [_run(located, number)] if number is not None else located.runs
    write("run  job                  dataset version                     size  created")
    for run in runs:
        for found in located.versions(run):
            if not found["artifacts"]:
                continue
            version = located.api.get_dataset_version(found["datasetId"], found["version"])
            size = "?" if version.size_bytes is None else _size(version.size_bytes)
            ref = f"{found['datasetId']}:{found['version']}"
            write(f"{run.number:<4} {found['job']:<20} {ref:<30} {size:>10}  {version.dt_created}")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def main(command: str, stack: str, experiment: str, run: int | None, job: str | None, follow: bool) -> int:
    def write(line: str) -> None:
        print(line, flush=True)

    try:
        located = locate(stack, experiment, Path.cwd())
        if command == "logs":
            print_logs(located, run, job, follow, write)
        else:
            print_artifacts(located, run, write)
    except RunsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except GradientApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
