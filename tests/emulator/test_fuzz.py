"""The emulator's input fuzzer (tests/emulator/fuzz.py) as a test: EMULATOR_FUZZ_REQUESTS requests (1,500 by
default, a few seconds), seed EMULATOR_FUZZ_SEED (0 by default); a nightly job sets 50,000 or more and a
varying seed."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.emulator import EmulatorProcess

from .fuzz import endpoints, fuzz, settings


def test_no_input_makes_the_emulator_fail_or_poisons_a_listing(
    emulator: EmulatorProcess, record_property: Callable[[str, object], None]
) -> None:
    requests, seed = settings()
    figures = fuzz(emulator, requests, seed)
    record_property("summary", figures.summary())
    assert figures.failures == [], "\n".join(figures.failures[:30])
    assert figures.server_errors == 0 and figures.requests == requests
    fuzzed = set(figures.by_endpoint)
    assert {f"{e.method} {e.template}" for e in endpoints()} <= fuzzed  # every route, new ones included
    assert {200, 400, 404} <= set(figures.by_status)  # it reaches handlers, validation and lookups
    assert figures.list_checks > 0
