"""The unit suite runs in process with fakes at the seams; no test in it may sleep on the wall clock."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest


def _no_sleep(seconds: float) -> None:
    raise AssertionError(
        f"a unit test slept {seconds} s on the wall clock; pass a FakeClock (tests/unit/fakes.py) or a fake sleep"
    )


@pytest.fixture(autouse=True)
def never_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(time, "sleep", _no_sleep)
    yield
