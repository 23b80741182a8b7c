"""`pulumi up` at scale (issue #14): the wall time of an up whose deployments (and experiments) take T to
become ready (or to train), ÷ T, with the stack's Readiness resource, beside the same up with every wait in
its own operation (the design before it) in the same run; how late readiness is noticed; how many reads a
wait costs; what a no-op refresh and up cost.

The up runs the real program and the real `python -m pulumi.dynamic` server (four operations at once) through
the engine stand-in of tests/engine, against an emulator process at real time. Deployments become ready T
after their spec is applied (EMULATOR_READY_SECONDS), experiments train for T (EMULATOR_RUN_SECONDS).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from emulator.deployment_lifecycle import APPLY_SECONDS
from emulator.workflow_lifecycle import QUEUE_SECONDS
from gradient_provider import program
from tests.engine.harness import Engine
from tests.support.emulator import DEV_KEY, REPO_ROOT, EmulatorProcess, running_emulator

from .registry import Result, Run, figure

POLL_CAP = "5"  # gradient:pollIntervalSeconds: the default cap of the adaptive polls


def stack_text(deployments: int, experiments: int, ready_seconds: float, train_seconds: float) -> str:
    lines = ["projects:", "  bench: {name: Bench}"]
    if experiments:
        lines.append("experiments:")
        for n in range(experiments):
            lines += [
                f"  train{n}:",
                "    project: bench",
                "    image: pytorch/pytorch:2.3.0",
                f"    command: python train.py --seed {n}",
                "    machineType: A4000",
                # trains T after the run is created: the emulator queues a run QUEUE_SECONDS first
                f'    env: {{EMULATOR_RUN_SECONDS: "{max(0.0, train_seconds - QUEUE_SECONDS):g}"}}',
                f"    timeoutSeconds: {int(train_seconds * 10) + 60}",
            ]
    if deployments:
        lines.append("deployments:")
        for n in range(deployments):
            lines += [
                f"  api{n}:",
                "    project: bench",
                "    image: paperspace/fastapi-deployment:latest",
                "    machineType: C4",
                "    ports: [8000]",
                # ready T after the upsert: the emulator applies a spec APPLY_SECONDS after accepting it
                f'    env: {{EMULATOR_READY_SECONDS: "{max(0.0, ready_seconds - APPLY_SECONDS):g}"}}',
                f"    timeoutSeconds: {int(ready_seconds * 10) + 60}",
            ]
    return "\n".join(lines) + "\n"


def _project(run: Run, text: str) -> Path:
    """A fresh project directory with the real __main__.py and ``text`` as its stack, kept until the run ends."""
    base = run.shared(
        "up.tmp", lambda: Path(run.resources.enter_context(tempfile.TemporaryDirectory(prefix="bench-up-")))
    )
    path = Path(tempfile.mkdtemp(dir=base))
    (path / "stacks").mkdir()
    (path / "stacks" / "bench.yaml").write_text(text)
    (path / "__main__.py").write_text((REPO_ROOT / "__main__.py").read_text())
    return path


def _engine(root: Path, emulator: EmulatorProcess) -> Engine:
    return Engine(
        root,
        "bench",
        root / "checkpoint.json",
        config={"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": POLL_CAP},
        secret_config={"gradient:apiKey": DEV_KEY},
    )


def _emulator(run: Run) -> EmulatorProcess:
    return run.shared("up.emulator", lambda: run.resources.enter_context(running_emulator(time_scale=1.0)))


def timed_up(run: Run, text: str, *, in_operation: bool) -> tuple[float, Engine]:
    """Seconds one `up` of ``text`` takes on an emptied emulator; ``in_operation``: every wait in its own
    operation, as before the Readiness resource (the program defers nothing)."""
    emulator = _emulator(run)
    emulator.reset()
    engine = _engine(_project(run, text), emulator)
    deferring_nothing: contextlib.AbstractContextManager[Any] = mock.patch.object(
        program, "deferred_waits", lambda _stack: set()
    )
    with deferring_nothing if in_operation else contextlib.nullcontext():
        started = time.monotonic()
        engine.up()
        return time.monotonic() - started, engine


def _up_figure(
    name: str, deployments: int, experiments: int, seconds: float, smoke_seconds: float
) -> Callable[[Run], Result]:
    def measure(run: Run) -> Result:
        t = smoke_seconds if run.smoke else seconds
        count = run.size(deployments, min(deployments, 4))
        trainings = run.size(experiments, min(experiments, 1))
        text = stack_text(count, trainings, t, t)
        wall, _ = timed_up(run, text, in_operation=False)
        return Result(name, wall, t, "s")

    return measure


def _in_operation_figure(name: str, deployments: int, seconds: float, smoke_seconds: float) -> Callable[[Run], Result]:
    def measure(run: Run) -> Result:
        t = smoke_seconds if run.smoke else seconds
        count = run.size(deployments, min(deployments, 4))
        wall, _ = timed_up(run, stack_text(count, 0, t, t), in_operation=True)
        return Result(name, wall, t, "s")

    return measure


for _count in (8, 16, 32):
    _name = f"up.{_count}_deployments"
    figure(_name, "≤ 1.25")(_up_figure(_name, _count, 0, 10.0, 2.0))
figure("up.32_deployments_in_operation", "(before: 8x)")(
    _in_operation_figure("up.32_deployments_in_operation", 32, 10.0, 2.0)
)
figure("up.32_deployments_4_experiments", "≤ 1.25")(_up_figure("up.32_deployments_4_experiments", 32, 4, 60.0, 2.0))


def _delay_figure(name: str, seconds: float, smoke_seconds: float) -> Callable[[Run], Result]:
    """How late the end of a wait is noticed: from the moment the deployment was healthy (the emulator's
    dtHealthy, at real time) to the end of the up (so an upper bound: the up's last steps count too), against
    max(0.5 s, 5 % of the time it took)."""

    def measure(run: Run) -> Result:
        t = smoke_seconds if run.smoke else seconds
        started = time.time()
        timed_up(run, stack_text(1, 0, t, t), in_operation=False)
        ended = time.time()
        with _emulator(run).client() as api:
            [deployment] = api.get("/deployments").json()["items"]
            healthy = datetime.fromisoformat(deployment["latestSpec"]["dtHealthy"].replace("Z", "+00:00")).timestamp()
        return Result(name, ended - healthy, max(0.5, 0.05 * (healthy - started)), "s")

    return measure


for _seconds in (3.0, 30.0, 120.0):
    _name = f"readiness.delay_{_seconds:g}s"
    figure(_name, "≤ 1 (+ the up's last steps)")(_delay_figure(_name, _seconds, 1.0))


@figure("readiness.reads_32_vs_8", "≈ 1: reads per poll independent of N")
def reads_per_poll(run: Run) -> Result:
    """Reads the waits make per second, for 32 deployments against 8 (same T): a list per project and one
    deployment's runs per poll. Each create's own single look at its runs is not counted."""
    t = 2.0 if run.smoke else 10.0
    emulator = _emulator(run)
    rates = []
    for count in (4 if run.smoke else 32, 2 if run.smoke else 8):
        wall, _ = timed_up(run, stack_text(count, 0, t, t), in_operation=False)  # resets the statistics first
        stats = emulator.stats()
        reads = _gets(stats, "/v1/projects/{id}/deployments") + _gets(stats, "/v1/deployments/{id}/runs") - count
        rates.append(reads / wall)
    return Result("readiness.reads_32_vs_8", rates[0], rates[1], "reads/s")


def _gets(stats: dict[str, Any], route: str) -> int:
    """GETs of one route so far, from the emulator's statistics."""
    return sum(row["count"] for row in stats.get("byRoute") or [] if row["method"] == "GET" and row["route"] == route)


@figure("noop.refresh_then_up_writes", "0 writes")
def noop_writes(run: Run) -> Result:
    """API writes of `refresh` then `up` on an unchanged stack; baseline: the number of resources."""
    count, made = _noop_delta(run, "writes", lambda engine: (engine.refresh(), engine.up()))
    return Result("noop.refresh_then_up_writes", made, float(count + 2), "writes")


@figure("noop.refresh_reads_per_resource", "≤ 1 read per resource")
def noop_refresh_reads(run: Run) -> Result:
    count, made = _noop_delta(run, "total", lambda engine: engine.refresh())
    return Result("noop.refresh_reads_per_resource", made, float(count + 2), "requests")


def _noop_delta(run: Run, stat: str, action: Callable[[Engine], object]) -> tuple[int, float]:
    """The emulator's count ``stat`` (requests or writes) that ``action`` adds on the shared no-op stack."""
    count = run.size(8, 2)
    _, engine = _noop_stack(run, count)
    emulator = _emulator(run)
    before = emulator.stats()[stat]
    action(engine)
    return count, float(emulator.stats()[stat] - before)


def _noop_stack(run: Run, count: int) -> tuple[float, Engine]:
    """A stack of ``count`` deployments and an experiment, up once (shared by the no-op figures of a run)."""
    return run.shared(f"noop.{count}", lambda: timed_up(run, stack_text(count, 1, 1.0, 1.0), in_operation=False))
