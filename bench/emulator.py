"""A real ``python -m emulator`` process at real time (time scale 1), for the emulator figures."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
API_KEY = "emulator-dev-key"  # the emulator's default key (emulator/settings.py)


@dataclass(frozen=True)
class Emulator:
    api_url: str  # http://127.0.0.1:PORT/v1

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)


@contextmanager
def emulator_process(state: str = ":memory:") -> Iterator[Emulator]:
    """Start the emulator on a free port with ``state``; stop it on leaving."""
    command = [sys.executable, "-m", "emulator", "--port", "0", "--state", state, "--time-scale", "1"]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().strip() if ready else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"the emulator did not start; its first line was {line!r}")
        yield Emulator(line.removeprefix("listening on "))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
