"""The stack-file fuzzer (tests/fuzz/stack_fuzz.py) as a test: FUZZ_FILES files (1,000 by default), seed
FUZZ_SEED (0 by default); a nightly job sets FUZZ_FILES=5000 or more and a varying seed."""

from __future__ import annotations

from tests.fuzz.stack_fuzz import MAX_MEGABYTES, MAX_SECONDS, fuzz, hostile, settings


def test_validate_survives_hostile_and_mutated_stack_files() -> None:
    files, seed = settings()
    figures = fuzz(files, seed)
    print(figures.summary())
    assert figures.failures == [], "\n".join(figures.failures[:50])
    assert figures.files == max(files, len(hostile())) and figures.tracebacks == 0
    assert figures.valid > 0 and figures.invalid > 0  # the mutants reach both outcomes
    assert figures.slowest[0] < MAX_SECONDS and figures.peak_megabytes[0] < MAX_MEGABYTES
    assert figures.cli_files > 0 and figures.cli_slowest[0] < MAX_SECONDS
    assert figures.cli_peak_megabytes[0] < MAX_MEGABYTES
