"""scripts/up (the Quickstart's main job) with a recording stand-in for the Pulumi CLI.

The real CLI cannot be installed here; the stand-in records each call with the environment the script gave
it and, for `pulumi up`, checks that the emulator the script started answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap
from pathlib import Path

from tests.support.emulator import REPO_ROOT

FAKE_PULUMI = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys, urllib.request
    call = {{"args": sys.argv[1:], "env": {{k: os.environ.get(k) for k in (
        "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PAPERSPACE_API_KEY", "PAPERSPACE_API_URL")}}}}
    if sys.argv[1:2] == ["up"]:
        with urllib.request.urlopen(os.environ["PAPERSPACE_API_URL"] + "/health") as response:
            call["emulator"] = json.load(response)
    if sys.argv[1:3] == ["config", "get"]:
        sys.exit(1)  # nothing is set yet
    with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
        log.write(json.dumps(call) + "\\n")
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_starts_the_emulator_selects_the_stack_sets_secrets_and_runs_pulumi_up(tmp_path: Path) -> None:
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI.format(python=sys.executable))
    fake.chmod(0o755)
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
