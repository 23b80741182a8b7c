"""scripts/up (the Quickstart's main job) with a recording stand-in for the Pulumi CLI.

The real CLI cannot be installed here; the stand-in (tests/support/fake_pulumi.py) loads the repository's own
Pulumi.yaml by Pulumi's rules and starts nothing it would refuse, records each call with the environment the
script gave it and, for `pulumi up`, checks that the emulator the script started answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from tests.support import fake_pulumi
from tests.support.emulator import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_starts_the_emulator_selects_the_stack_sets_secrets_and_runs_pulumi_up(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_pulumi.install(bin_dir, REPO_ROOT)
    log = tmp_path / "calls.jsonl"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PAPERSPACE_"))},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_PULUMI_LOG": str(log),
        "GRADIENT_EMULATOR_PORT": str(port),
    }
    result = subprocess.run(["scripts/up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["args"][:2] for c in calls] == [
        ["stack", "select"],
        ["config", "set"],
        ["up", "--yes"],
        ["stack", "output"],
    ]
    assert calls[1]["args"][:4] == ["config", "set", "--secret", "hfToken"]
    up = calls[2]
    assert up["emulator"] == "HEALTHY", "pulumi up ran while the emulator served"
    assert up["env"]["PULUMI_BACKEND_URL"] == f"file://{REPO_ROOT}/.pulumi-state"
    assert up["env"]["PAPERSPACE_API_URL"] == f"http://127.0.0.1:{port}/v1"
    assert up["env"]["PAPERSPACE_API_KEY"] == "emulator-dev-key" and up["env"]["PULUMI_CONFIG_PASSPHRASE"] == ""
    for step in (
        "Validating stacks/dev.yaml",
        "Starting the Paperspace API emulator",
        "pulumi up --stack dev",
        "Stopping the emulator",
    ):
        assert step in result.stderr
    with socket.socket() as sock:  # the emulator is stopped when the script ends
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_up_refuses_an_invalid_stack_before_anything_else(tmp_path: Path) -> None:
    env = {**os.environ, "STACK": "no-such-stack", "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(["scripts/up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "stacks/no-such-stack.yaml:1: (file): no such stack file" in result.stdout


def _readme_block(heading: str) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    return section[section.index("```sh\n") + 6 : section.index("\n```", section.index("```sh\n"))]


def _plain_path(bin_dir: Path) -> str:
    """A user's shell: the Pulumi CLI on PATH, none of this repository's tool folders."""
    ours = (str(REPO_ROOT / ".venv" / "bin"), str(REPO_ROOT / ".tools" / "bin"))
    return os.pathsep.join([str(bin_dir), *(p for p in os.environ["PATH"].split(os.pathsep) if p not in ours)])


def test_the_readme_commands_for_real_paperspace_work_from_a_plain_shell(tmp_path: Path) -> None:
    block = _readme_block("### Pointing at real Paperspace")
    log = tmp_path / "calls.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PAPERSPACE_", "VIRTUAL_ENV"))},
        "PATH": _plain_path(tmp_path / "bin"),
        "FAKE_PULUMI_LOG": str(log),
    }
    fake_pulumi.install(tmp_path / "bin", REPO_ROOT)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=REPO_ROOT,
        env=env,
        input="ps_real_key_from_the_prompt\nhttps://sentry.example/1\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["args"][0] for c in calls] == ["stack", "config", "config", "preview", "up"]
    assert calls[1]["stdin"] == "ps_real_key_from_the_prompt", "the key is read from the prompt, not argv"
    assert all("ps_real_key_from_the_prompt" not in " ".join(c["args"]) for c in calls)


def test_the_stand_in_refuses_the_old_project_file_as_pulumi_would(tmp_path: Path) -> None:
    """The check above has teeth: the Pulumi.yaml this repository had fails in the same plain shell."""
    from tests.stack.test_pulumi_files import OLD_PROJECT

    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(OLD_PROJECT)
    env = {**os.environ, "PATH": _plain_path(tmp_path / "bin"), "FAKE_PULUMI_LOG": str(tmp_path / "log")}
    fake_pulumi.install(tmp_path / "bin", REPO_ROOT)
    result = subprocess.run(["pulumi", "preview"], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "'gradient:apiUrl' is not namespaced by the project and should not define a type" in result.stderr
    fixed = OLD_PROJECT[: OLD_PROJECT.index("config:")]  # the type alone removed: uv is still not on PATH
    (project / "Pulumi.yaml").write_text(fixed)
    (project / ".venv").symlink_to(REPO_ROOT / ".venv")
    result = subprocess.run(["pulumi", "preview"], cwd=project, env=env, capture_output=True, text=True)
    assert "Could not find `uv` executable" in result.stderr


def test_up_without_the_cli_go_or_network_names_what_works_offline(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"  # as curl fails with no network: could not resolve host
    curl.write_text("#!/bin/sh\necho 'curl: (6) Could not resolve host: get.pulumi.com' >&2\nexit 6\n")
    curl.chmod(0o755)
    # and no Go to build the CLI with (scripts/pulumi-cli)
    path = os.pathsep.join(p for p in _plain_path(bin_dir).split(os.pathsep) if not (Path(p) / "go").exists())
    env = {**os.environ, "PATH": path, "HOME": str(tmp_path)}
    result = subprocess.run(["scripts/up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "could not install the Pulumi CLI (no network to get.pulumi.com" in result.stderr
    assert "there is no Go" in result.stderr
    for offline in ("gradient_provider validate", "gradient_provider plan", "make emulator"):
        assert offline in result.stderr
    assert "Traceback" not in result.stderr
