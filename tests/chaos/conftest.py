from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import LoggedEmulator, logged_emulator

CHAOS_KEY = "chaos-suite-key"
# The nightly job sets CHAOS_ROUNDS (seeds per fault rate, and every crash mode); CHAOS_SEED moves the seeds.
ROUNDS = max(1, int(os.environ.get("CHAOS_ROUNDS", "1")))
SEED = int(os.environ.get("CHAOS_SEED", "1"))


@pytest.fixture(scope="module")
def chaos_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedEmulator]:
    """One emulator per module, at 1/50 of real time, its state in a SQLite file; each test resets it."""
    directory: Path = tmp_path_factory.mktemp("emulator")
    with logged_emulator(directory, key=CHAOS_KEY, time_scale=0.02) as emulator:
        yield emulator
