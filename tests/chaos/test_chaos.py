"""Chaos at 20 % and at 50 % of writes (tests/chaos/scenario.py says what one scenario does and checks).

The scenarios run as subprocesses, each with its own emulator, two at a time: most of a scenario's time is the
provider's backoff between retries, so the two rates together take about as long as the slower one.
CHAOS_ROUNDS=N runs N seeds per rate (the nightly job), from CHAOS_SEED.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from .conftest import ROUNDS, SEED
from .scenario import Figures
from .support import Background

RATES = (0.2, 0.5)
SCENARIOS = [(rate, SEED + round_) for round_ in range(ROUNDS) for rate in RATES]


@pytest.fixture(scope="module")
def scenarios() -> Iterator[Background[tuple[float, int]]]:
    commands = {
        (rate, seed): [sys.executable, "-m", "tests.chaos.scenario", "--rate", str(rate), "--seed", str(seed), "--json"]
        for rate, seed in SCENARIOS
    }
    with Background(commands) as background:
        yield background


@pytest.mark.parametrize(("rate", "seed"), SCENARIOS, ids=[f"{rate:.0%}-seed{seed}" for rate, seed in SCENARIOS])
def test_a_stack_lives_and_dies_under_faults_without_orphans_duplicates_or_lost_updates(
    rate: float, seed: int, scenarios: Background[tuple[float, int]], record_property: Callable[[str, object], None]
) -> None:
    figures = Figures(**scenarios.result((rate, seed)))
    record_property("summary", figures.describe())
    assert figures.problems == [], "\n".join(figures.problems)
    assert (figures.orphans, figures.duplicates, figures.lost_updates) == (0, 0, 0)
    assert figures.stages == 4 and sum(figures.faults.values()) > 0
