"""Crashes: kill -9 the provider process at each step of each kind's create, then `up` again with a fresh one.

The steps are found, not listed: a clean `up` of each kind's stack shows in the emulator's statistics which
writes that kind's create makes and how often (so a create that changes its steps is covered as it is). For each
write, and each time it is made, two crash points:

- **in flight**: a `latency` fault holds the request in the emulator; once the emulator has drawn it (its fault
  plan's `remaining` drops to 0) and before the delay ends, the provider process is killed. The request was
  sent and is not applied (the emulator finds the caller gone when it reads the body).
- **applied**: the same, but the provider is stopped (SIGSTOP) while the request is held, the emulator then
  applies it and answers into the stopped process's socket (its statistics count it), and only then is the
  provider killed. The change is made; the provider never learnt of it.

Plus, for the kinds that wait, the first poll of the wait in flight. A crash point counts only when the kill
provably came before the emulator answered (the kill is less than the delay after the last poll that saw the
request not yet drawn). Then a fresh provider runs `up` once; afterwards the emulator must hold exactly what the
checkpoint tracks (0 orphans), one object per declared resource (0 duplicates), and what the stack file says.

``python -m tests.chaos.crash [--kind Experiment] [--all-modes]`` runs the crash points of every kind (or of the
kinds named) and prints a line per kind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine.harness import EngineError
from tests.support.dynamic_server import DynamicProviderServer

from .support import WRITE_METHODS, Audit, ChaosEngine, LoggedEmulator, StackDir, audit, logged_emulator, wait_until

KEY = "chaos-crash-key"
LATENCY_MS = 400  # how long the emulator holds the request the crash aims at

PROJECT = """\
projects:
  research: {name: Research}
"""
EXPERIMENT = (
    PROJECT
    + """\
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A4000
    env: {EMULATOR_RUN_SECONDS: "1", WANDB_KEY: {secret: wandbKey}}
    model: {name: resnet50}
"""
)
DEPLOYMENT = (
    PROJECT
    + """\
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    ports: [8000]
    replicas: 2
    env: {MODE: prod, HF_TOKEN: {secret: hfToken}}
"""
)
SECRETS = {"wandbKey": "wandb-crash-value", "hfToken": "hf-crash-value"}


@dataclass(frozen=True)
class KindCase:
    stack: str
    runs: dict[str, int]
    create: tuple[str, str]  # the request that makes the kind's object: killed in flight in every mode
    waits: list[tuple[str, str]]  # the first poll of each wait: (method, route)


CASES = {
    "Project": KindCase(PROJECT, {}, ("POST", "/v1/projects"), []),
    "Experiment": KindCase(
        EXPERIMENT, {"train": 1}, ("POST", "/v1/workflows"), [("GET", "/v1/workflows/{id}/runs/{seq}")]
    ),
    "Deployment": KindCase(DEPLOYMENT, {}, ("POST", "/v1/deployments"), [("GET", "/v1/deployments/{id}")]),
}


@dataclass(frozen=True)
class CrashPoint:
    kind: str
    method: str
    route: str
    occurrence: int
    mode: str  # "in flight" or "applied"

    def __str__(self) -> str:
        nth = f" (#{self.occurrence})" if self.occurrence > 1 else ""
        return f"{self.kind} create: {self.method} {self.route}{nth} {self.mode}"


def _calls(stats: dict[str, Any]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in stats["byRoute"]:
        counts[(row["method"], row["route"])] += int(row["count"])
    return counts


def engine_for(emulator: LoggedEmulator, root: Path, text: str) -> tuple[ChaosEngine, StackDir]:
    stack = StackDir(root / "project", text)
    engine = ChaosEngine(
        stack.root,
        root / "checkpoint.json",
        config={"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.02"},
        secret_config={"gradient:apiKey": emulator.key, **SECRETS},
    )
    return engine, stack


def discover(emulator: LoggedEmulator, root: Path, kinds: list[str]) -> dict[str, Counter[tuple[str, str]]]:
    """Per kind, the writes its create makes, (method, route) -> how many times, from a clean `up`."""
    writes: dict[str, Counter[tuple[str, str]]] = {}
    for kind in sorted({"Project", *kinds}, key=list(CASES).index):
        case = CASES[kind]
        emulator.reset()
        engine, _ = engine_for(emulator, root / f"discover-{kind}", case.stack)
        engine.up()
        calls = _calls(emulator.stats())
        writes[kind] = Counter({call: n for call, n in calls.items() if call[0] in WRITE_METHODS})
        for wait in case.waits:
            assert calls[wait], f"{kind}: no {wait} during a create; the wait's route changed"
    for kind in set(writes) - {"Project"}:  # their stacks hold the project too
        writes[kind] = Counter({call: n for call, n in writes[kind].items() if call not in writes["Project"]})
    return writes


def crash_points(kind: str, writes: Counter[tuple[str, str]], all_modes: bool) -> list[CrashPoint]:
    """After each write of the create, each time it is made; in flight at the request that makes the object (in
    all modes: at every write; a write killed in flight leaves what the write before it left, so the default
    covers every state a crash can leave); and in flight at the first poll of each wait."""
    assert CASES[kind].create in writes, f"{kind}: its create made no {CASES[kind].create}"
    points = []
    for (method, route), count in sorted(writes.items()):
        for occurrence in range(1, count + 1):
            points.append(CrashPoint(kind, method, route, occurrence, "applied"))
            if all_modes or (method, route) == CASES[kind].create:
                points.append(CrashPoint(kind, method, route, occurrence, "in flight"))
    points += [CrashPoint(kind, method, route, 1, "in flight") for method, route in CASES[kind].waits]
    return points


@dataclass
class Killer:
    """Kills the provider process at a crash point (see the module's docstring)."""

    emulator: LoggedEmulator
    point: CrashPoint
    fired: bool = False
    unproven: bool = False  # the kill may have come after the emulator answered: the point is tried again
    problem: str | None = None
    thread: threading.Thread | None = None
    base: int = 0

    def arm(self) -> None:
        self.base = _calls(self.emulator.stats())[(self.point.method, self.point.route)]
        plan = {
            "rate": 1.0,
            "kinds": ["latency"],
            "latencyMs": LATENCY_MS,
            "methods": [self.point.method],
            "paths": [self.point.route],
            "count": self.point.occurrence,
        }
        with self.emulator.admin() as admin:
            admin.post("/faults", json=plan).raise_for_status()

    def attach(self, server: DynamicProviderServer) -> None:
        self.thread = threading.Thread(target=self._watch, args=(server.process,), daemon=True)
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=60)

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        stopped = False
        try:
            stopped = self._strike(process)
        except Exception as error:  # never leave a stopped process behind, and say why
            self.problem = f"the killer failed: {error!r}"
        finally:
            if stopped or self.problem:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)

    def _strike(self, process: subprocess.Popen[bytes]) -> bool:
        """Kill (or stop, then kill) the provider at the crash point; True when it was stopped."""
        deadline = time.monotonic() + 60
        with self.emulator.admin() as admin:
            last_sent = time.monotonic()
            while True:
                sent = time.monotonic()
                if admin.get("/faults").json()["remaining"] == 0:
                    break
                if process.poll() is not None or sent > deadline:
                    self.problem = "the crash point was never reached"
                    return False
                last_sent = sent
                time.sleep(0.002)
        if self.point.mode == "in flight":
            os.kill(process.pid, signal.SIGKILL)
        else:
            # The emulator draws the fault once the headers are in; the body follows at once. Give it that
            # moment, then freeze the provider while the emulator still holds the request.
            time.sleep(0.02)
            os.kill(process.pid, signal.SIGSTOP)
        # The request was drawn after `last_sent`, so it is held until at least last_sent + the delay.
        if time.monotonic() - last_sent >= LATENCY_MS / 1000:
            self.unproven = True
            return self.point.mode == "applied"
        if self.point.mode == "applied":
            wanted = self.base + self.point.occurrence
            key = (self.point.method, self.point.route)
            try:
                wait_until(lambda: _calls(self.emulator.stats())[key] >= wanted, LATENCY_MS / 1000 + 3)
            except AssertionError:  # the body had not left the frozen provider: the emulator is still waiting
                self.unproven = True
                return True
            os.kill(process.pid, signal.SIGKILL)
        self.fired = True
        return self.point.mode == "applied"


@dataclass
class Outcome:
    point: CrashPoint
    left: dict[str, int]  # what the emulator held after the crash
    found: Audit
    problem: str | None = None


def crash_and_recover(emulator: LoggedEmulator, root: Path, point: CrashPoint) -> Outcome:
    case = CASES[point.kind]
    for attempt in range(4):  # a point whose timing could not be proven is tried again
        emulator.reset()
        attempt_root = root / f"attempt-{attempt}"
        engine, stack = engine_for(emulator, attempt_root, case.stack)
        killer = Killer(emulator, point)
        killer.arm()
        engine.on_server = killer.attach
        try:
            engine.up()
            crashed = False
        except EngineError:
            crashed = True
        killer.join()
        with emulator.admin() as admin:
            admin.delete("/faults").raise_for_status()
        if killer.unproven:
            continue
        if killer.problem or not killer.fired or not crashed:
            return Outcome(point, {}, Audit(), killer.problem or "the provider was not killed")
        left = emulator.objects()
        engine.on_server = None
        try:
            engine.up()
        except EngineError as error:
            return Outcome(point, left, Audit(), f"the up after the crash failed: {error}")
        with emulator.client() as api:
            found, _ = audit(api, engine, stack, runs=case.runs, secret_config=SECRETS, emulator=emulator)
        return Outcome(point, left, found)
    return Outcome(point, {}, Audit(), "the kill never came provably before the answer")


@dataclass
class KindReport:
    kind: str
    steps: list[str] = field(default_factory=list)  # the writes of its create, and its wait
    applied: int = 0
    in_flight: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        points = self.applied + self.in_flight
        return (
            f"crash {self.kind}: {points} crash points ({self.applied} applied, {self.in_flight} in flight) over "
            f"{', '.join(self.steps)}: {points - len(self.failures)} recovered with 0 orphans and 0 duplicates, "
            f"{len(self.failures)} failed; {self.seconds:.1f} s" + "".join(f"\n  FAILED {f}" for f in self.failures)
        )


def run_kind(
    emulator: LoggedEmulator, kind: str, writes: Counter[tuple[str, str]], directory: Path, *, all_modes: bool
) -> KindReport:
    """Every crash point of one kind's create, from the writes ``discover`` found."""
    started = time.monotonic()
    report = KindReport(kind)
    points = crash_points(kind, writes, all_modes)
    for i, point in enumerate(points):
        outcome = crash_and_recover(emulator, directory / f"point-{i}", point)
        if outcome.problem or outcome.found:
            report.failures.append(f"{point}: {outcome.problem or outcome.found} (the crash left {outcome.left})")
    report.steps = [f"{m} {r}" + (f" (x{n})" if n > 1 else "") for (m, r), n in sorted(writes.items())]
    report.steps += [f"the wait ({m} {r})" for m, r in CASES[kind].waits]
    report.applied = sum(p.mode == "applied" for p in points)
    report.in_flight = len(points) - report.applied
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.crash", description=__doc__)
    parser.add_argument("--kind", choices=list(CASES), action="append", help="a kind (default: every kind)")
    parser.add_argument("--all-modes", action="store_true", help="in flight at every write")
    args = parser.parse_args(argv)
    kinds = args.kind or list(CASES)
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="crash-") as directory,
        logged_emulator(Path(directory) / "emulator", key=KEY, time_scale=0.02) as emulator,
    ):
        writes = discover(emulator, Path(directory), kinds)
        for kind in kinds:
            report = run_kind(emulator, kind, writes[kind], Path(directory) / kind, all_modes=args.all_modes)
            print(report.describe(), flush=True)
            failed = failed or bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
