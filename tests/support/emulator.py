"""Start the emulator as a real process (``python -m emulator``) and talk HTTP to it."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "emulator-dev-key"
DEV_TEAM = "team-dev"


@dataclass
class EmulatorProcess:
    process: subprocess.Popen[str]
    api_url: str  # http://127.0.0.1:PORT/v1

    @property
    def root_url(self) -> str:
        return self.api_url.removesuffix("/v1")

    def client(self, key: str | None = DEV_KEY, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=10, **kwargs)

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.root_url}/_emulator", timeout=10)

    def stats(self) -> dict[str, Any]:
        with self.admin() as admin:
            body: dict[str, Any] = admin.get("/stats").raise_for_status().json()
            return body

    def reset(self) -> None:
        with self.admin() as admin:
            admin.post("/reset").raise_for_status()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (runs, readiness and instance states follow at once)."""
        with self.admin() as admin:
            admin.post("/clock", json={"advanceSeconds": seconds}).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate, then kill if it will not go within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_emulator(
    *args: str, state: str = ":memory:", time_scale: float = 0.05, stderr: IO[str] | None = None
) -> EmulatorProcess:
    """Start `python -m emulator` on a free port; its stderr goes to ``stderr`` (inherited by default)."""
    command = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--state",
        state,
        "--time-scale",
        str(time_scale),
        *args,
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().strip() if ready else ""
    prefix = "listening on "
    if not line.startswith(prefix):
        process.kill()
        raise RuntimeError(f"emulator did not announce itself; first line was {line!r}")
    return EmulatorProcess(process, line.removeprefix(prefix))


@contextmanager
def running_emulator(*args: str, state: str = ":memory:", time_scale: float = 0.05) -> Iterator[EmulatorProcess]:
    emulator = start_emulator(*args, state=state, time_scale=time_scale)
    try:
        yield emulator
    finally:
        emulator.stop()


@contextmanager
def injected_faults(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    """The admin client for POST /_emulator/faults; every fault is cleared again afterwards."""
    with emulator.admin() as admin:
        try:
            yield admin
        finally:
            admin.delete("/faults").raise_for_status()


def inject(admin: httpx.Client, **body: Any) -> None:
    admin.post("/faults", json=body).raise_for_status()


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` returns something truthy; return it, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)
