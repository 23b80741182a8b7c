"""Crashes at each step of each kind's create (tests/chaos/crash.py says how), and during a long wait.

CHAOS_ROUNDS above 1 (the nightly job) or CRASH_MODES=all also kill in flight at every write of a create.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.harness import EngineError

from .conftest import ROUNDS
from .crash import CASES, EXPERIMENT, SECRETS, CrashPoint, Killer, discover, engine_for, run_kind
from .support import LoggedEmulator, audit

ALL_MODES = ROUNDS > 1 or os.environ.get("CRASH_MODES") == "all"


@pytest.fixture(scope="module")
def create_writes(
    chaos_emulator: LoggedEmulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Counter[tuple[str, str]]]:
    return discover(chaos_emulator, tmp_path_factory.mktemp("discover"), list(CASES))


@pytest.mark.parametrize("kind", ["Project", "Experiment", "Deployment"])
def test_a_create_killed_at_any_step_is_finished_by_the_next_up(
    kind: str,
    chaos_emulator: LoggedEmulator,
    create_writes: dict[str, Counter[tuple[str, str]]],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    report = run_kind(chaos_emulator, kind, create_writes[kind], tmp_path, all_modes=ALL_MODES)
    record_property("summary", report.describe())
    assert report.failures == [], "\n".join(report.failures)


def test_a_crash_during_an_hour_long_run_is_adopted_after_the_clock_moves(
    chaos_emulator: LoggedEmulator, tmp_path: Path
) -> None:
    """The provider dies while waiting for a long training run; an hour later (the emulator's clock) the next
    `up` adopts the workflow and its finished run: no second run, no second model, no waiting."""
    chaos_emulator.reset()
    engine, stack = engine_for(chaos_emulator, tmp_path, EXPERIMENT.replace('"1"', '"3600"'))
    killer = Killer(chaos_emulator, CrashPoint("Experiment", "GET", "/v1/workflows/{id}/runs/{seq}", 1, "in flight"))
    killer.arm()
    engine.on_server = killer.attach
    with pytest.raises(EngineError):
        engine.up()
    killer.join()
    assert killer.fired and killer.problem is None
    with chaos_emulator.admin() as admin:
        admin.delete("/faults").raise_for_status()
        admin.post("/clock", json={"advanceSeconds": 3600}).raise_for_status()
    engine.on_server = None
    started = time.monotonic()
    engine.up()
    assert time.monotonic() - started < 30, "the next up waited for the run instead of adopting it"
    with chaos_emulator.client() as api:
        found, live = audit(api, engine, stack, runs={"train": 1}, secret_config=SECRETS, emulator=chaos_emulator)
    assert not found, str(found)
    # the experiment's create returned at once; the stack's Readiness resource waited, and reports the end
    assert engine.resource("Readiness", "readiness").outputs["statuses"]["experiments.train"]["phase"] == "Succeeded"
    assert live.counts()["model"] == 1
