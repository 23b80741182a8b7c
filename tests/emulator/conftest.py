"""Every emulator test's client checks each answer against the v1 contract (tests/emulator/contract.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.emulator import EmulatorProcess

from .contract import checked_client


@pytest.fixture
def api(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    """The shared emulator, reset to empty state, through a contract-checking client."""
    emulator.reset()
    with checked_client(emulator) as client:
        yield client
