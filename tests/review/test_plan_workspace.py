"""`plan` and `validate` with a local workspace: the files that changed since the base revision, by path only;
the directory checked without anything uploaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .test_plan import Repo, _resource

STACK = """\
projects:
  research: {name: Research}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python /inputs/repo/train.py
    machineType: A100-80G
    workspace: {path: ./training, ignore: ["*.ckpt"]}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    code = repo.root / "training"
    (code / "lib").mkdir(parents=True)
    (code / "train.py").write_text("print('v1')\n")
    (code / "lib" / "model.py").write_text("MODEL = 1\n")
    (code / "lib" / "old.py").write_text("gone soon\n")
    (code / ".gitignore").write_text("*.log\n")
    repo.commit(STACK)
    return repo


def _workspace_change(document: dict[str, Any]) -> dict[str, Any] | None:
    resource = _resource(document, "experiments", "train")
    return next((c for c in resource["changes"] if c["path"] == "workspace"), None)


def test_the_plan_lists_the_workspace_files_that_changed_and_calls_it_a_new_run(repo: Repo) -> None:
    code = repo.root / "training"
    (code / "lib" / "model.py").write_text("MODEL = 2\n")
    (code / "lib" / "old.py").unlink()
    (code / "extra.py").write_text("new\n")
    (code / "debug.log").write_text("ignored: .gitignore\n")
    (code / "best.ckpt").write_text("ignored: the stack's `ignore`\n")
    exit_code, document = repo.plan_json("--stack", "dev")
    change = _workspace_change(document)
    assert change is not None, document
    assert change["note"] == "workspace changed (3 files): extra.py (added), lib/model.py, lib/old.py (removed)"
    assert (change["policy"], change["risk"]) == ("new-run", "re-train")
    assert _resource(document, "experiments", "train")["action"] == "new-run"
    assert exit_code == 3
    assert "MODEL" not in repo.plan("--stack", "dev").stdout  # paths only, never content


def test_touched_and_ignored_files_are_no_change(repo: Repo) -> None:
    code = repo.root / "training"
    (code / "train.py").touch()
    (code / "run.log").write_text("ignored\n")
    exit_code, document = repo.plan_json("--stack", "dev")
    assert exit_code == 0 and _workspace_change(document) is None


def _validate(repo: Repo) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradient_provider", "validate", "stacks/dev.yaml"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validate_checks_the_directory_without_uploading(repo: Repo) -> None:
    assert _validate(repo).returncode == 0
    repo.edit("path: ./training", "path: ./nowhere")
    result = _validate(repo)
    assert result.returncode == 1
    assert "stacks/dev.yaml:9: experiments.train.workspace.path: workspace.path './nowhere': no such directory" in (
        result.stdout + result.stderr
    )
    repo.edit("path: ./nowhere", "path: ../outside")
    assert "must be a directory inside the repository" in (_validate(repo).stdout + _validate(repo).stderr)


def test_validate_refuses_a_symlink_that_leads_outside(repo: Repo, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside")
    (repo.root / "training" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    result = _validate(repo)
    assert result.returncode == 1
    assert "leak.txt is a symlink to" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
