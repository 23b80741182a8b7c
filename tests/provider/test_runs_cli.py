"""`python -m gradient_provider logs` and `artifacts`, as a user runs them: a subprocess in a project directory,
against the emulator process, finding the experiment from the stack file alone (no Pulumi state)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.emulator import DEV_KEY, EmulatorProcess

from .conftest import Kind
from .test_experiment_jobs_provider import _inputs, _jobs, dataset_ids

__all__ = ["dataset_ids"]  # the fixture, used here

STACK = """\
projects:
  research: {name: Research}
datasets:
  store: {}
  reports: {retainOnDelete: false}
experiments:
  pipeline:
    project: research
    machineType: A100-80G
    jobs:
      only: {image: i, command: c}
"""


@pytest.fixture
def workdir(tmp_path: Path, emulator: EmulatorProcess) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "dev.yaml").write_text(STACK)
    (tmp_path / "Pulumi.yaml").write_text("name: gradient-stacks\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(f"config:\n  gradient:apiUrl: {emulator.api_url}\n")
    return tmp_path


def cli(workdir: Path, *args: str, key: str | None = DEV_KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERSPACE_", "GRADIENT_"))}
    if key is not None:
        env["PAPERSPACE_API_KEY"] = key
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "gradient_provider", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_logs_and_artifacts_of_an_experiment_found_by_its_stack_entry(
    experiments: Kind, project_id: str, dataset_ids: dict[str, str], workdir: Path
) -> None:
    failing = _jobs(evaluate={"env": {"EMULATOR_EXIT_CODE": "2"}})
    _, state = experiments.create(_inputs(project_id, dataset_ids))
    ident = state["workflowId"]
    with pytest.raises(Exception, match="exited with code 2"):
        experiments.update(ident, state, _inputs(project_id, dataset_ids, jobs=failing))

    every = cli(workdir, "logs", "--stack", "dev", "pipeline")
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    assert "[evaluate] Job 'evaluate' failed: exited with code 2" in lines, "the latest run (2) by default"
    assert any(line.startswith("[prepare] ") for line in lines) and any(line.startswith("[train] ") for line in lines)

    one_job = cli(workdir, "logs", "--stack", "dev", "pipeline", "--run", "1", "--job", "train", "--follow")
    assert one_job.returncode == 0, one_job.stderr
    assert one_job.stdout.splitlines()[-1] == "[train] Job 'train' succeeded: exited with code 0"
    assert all(line.startswith("[train] ") for line in one_job.stdout.splitlines())

    listed = cli(workdir, "artifacts", "--stack", "dev", "pipeline")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert len(rows) == 1, "run 2 failed before evaluate committed its artifacts"
    assert rows[0].split()[:3] == [
        "1",
        "evaluate",
        state["artifacts"][0]["datasetId"] + ":" + state["artifacts"][0]["version"],
    ]


def test_what_cannot_be_found_is_one_clear_line(
    experiments: Kind, project_id: str, workdir: Path, api: httpx.Client
) -> None:
    unknown = cli(workdir, "logs", "--stack", "dev", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: stacks/dev.yaml has no experiment 'nope' (its experiments: pipeline)"
    not_yet = cli(workdir, "logs", "--stack", "dev", "pipeline")
    assert not_yet.returncode == 1
    assert "experiment 'pipeline' has no workflow in project 'Research' yet" in not_yet.stderr
    no_key = cli(workdir, "artifacts", "--stack", "dev", "pipeline", key=None)
    assert no_key.returncode == 1 and "PAPERSPACE_API_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
