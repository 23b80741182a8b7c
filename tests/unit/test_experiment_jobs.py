"""An experiment with jobs, in process against the fake API and clock: the provider's check repeats the DAG
checks, and a failed run's error ends with the failed job's log tail, secrets masked."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_provider.kinds.experiment.lifecycle import LOG_TAIL_LINES, ExperimentLifecycle
from gradient_provider.lifecycles.base import OperationFailedError

from .fakes import FakeApi, FakeClock

JOBS: dict[str, Any] = {
    "prepare": {"image": "python:3.11", "command": "prep", "outputs": {"batch": "volume"}},
    "train": {"image": "torch", "command": "train", "needs": ["prepare"], "inputs": {"batch": {"job": "prepare"}}},
}


def _inputs(**overrides: Any) -> dict[str, Any]:
    return {"projectId": "p1", "name": "pipeline", "machineType": "A4000", "jobs": JOBS, **overrides}


def test_the_provider_check_repeats_the_dag_checks_and_makes_the_model_output_explicit() -> None:
    broken = {**JOBS, "train": {**JOBS["train"], "needs": ["nope"]}}
    _, problems = ExperimentLifecycle.check(_inputs(jobs=broken))
    assert [(p.field, p.reason) for p in problems] == [
        (
            "jobs.train.needs.0",
            "refers to job 'nope', which is not one of this experiment's jobs: prepare, train",
        ),
        ("jobs.train.inputs.batch.job", "uses an output of job 'prepare': add 'prepare' to this job's `needs`"),
    ]
    checked, problems = ExperimentLifecycle.check(_inputs(model={"name": "m", "job": "train"}))
    assert problems == []
    assert checked["jobs"]["train"]["outputs"] == {"model": "volume"}
    assert checked["model"] == {"name": "m", "job": "train"}


def test_a_failed_run_ends_with_the_failed_jobs_last_lines_and_no_secret_value() -> None:
    clock = FakeClock()
    api = FakeApi(clock)
    api.projects["p1"] = "Research"
    api.run_outcome, api.run_message = "Failed", "job 'train' failed: exited with code 1"
    lines = [f"epoch {n}" for n in range(30)] + ["token is s3cr3t-value-123", "Traceback: boom"]
    api.job_logs = {"train": lines}
    inputs, _ = ExperimentLifecycle.check(_inputs(secretEnv={"TOKEN": "s3cr3t-value-123"}))
    with pytest.raises(OperationFailedError) as raised:
        ExperimentLifecycle(api, 5.0, clock).create(inputs)
    message = str(raised.value)
    assert "s3cr3t-value-123" not in message and "token is [secret]" in message
    tail = message.split("log line(s) of job ")[1].splitlines()[1:]
    assert len(tail) == LOG_TAIL_LINES and tail[-1] == "  Traceback: boom" and tail[0] == "  epoch 12"
    assert clock.slept, "the wait ran on the fake clock"
