"""validate and plan at 1,000 and 10,000 resources, each against a CSafeLoader parse of the same file
(issue #14: validate at most 1.5 times it at 1,000; 10,000 at most 11 times the 1,000 figure; plan at most
twice validate)."""

from __future__ import annotations

from .registry import Result, Run, figure
from .stacks import Timing, measure

_SIZES = {"1k": (1_000, 30), "10k": (10_000, 300)}  # resources: full run, smoke
REPEATS = 5


def _timing(run: Run, operation: str, size: str) -> Timing:
    """All stack timings are measured together, interleaved, the first time a figure asks for one."""

    def every_case() -> dict[tuple[str, str], Timing]:
        keys = [(each, name) for each in ("validate", "plan") for name in _SIZES]
        resources = {name: run.size(full, smoke) for name, (full, smoke) in _SIZES.items()}
        found = measure([(each, resources[name]) for each, name in keys], run.size(REPEATS, 1))
        return {(each, name): found[(each, resources[name])] for each, name in keys}

    return run.shared("stack timings", every_case)[(operation, size)]


def _against_csafeloader(run: Run, operation: str, size: str) -> Result:
    timing = _timing(run, operation, size)
    return Result(f"{operation}.{size}", timing.seconds, timing.csafeloader, "s")


@figure("validate.1k", target="≤ 1.5")
def validate_1k(run: Run) -> Result:
    return _against_csafeloader(run, "validate", "1k")


@figure("validate.10k")
def validate_10k(run: Run) -> Result:
    return _against_csafeloader(run, "validate", "10k")


@figure("validate.10k_vs_1k", target="≤ 11")
def validate_scaling(run: Run) -> Result:
    """validate of 10,000 resources ÷ validate of 1,000: linear growth is 10."""
    return Result(
        "validate.10k_vs_1k", _timing(run, "validate", "10k").seconds, _timing(run, "validate", "1k").seconds, "s"
    )


@figure("plan.1k")
def plan_1k(run: Run) -> Result:
    return _against_csafeloader(run, "plan", "1k")


@figure("plan.10k")
def plan_10k(run: Run) -> Result:
    return _against_csafeloader(run, "plan", "10k")


@figure("plan_vs_validate.1k", target="≤ 2")
def plan_vs_validate_1k(run: Run) -> Result:
    return Result(
        "plan_vs_validate.1k", _timing(run, "plan", "1k").seconds, _timing(run, "validate", "1k").seconds, "s"
    )


@figure("plan_vs_validate.10k", target="≤ 2")
def plan_vs_validate_10k(run: Run) -> Result:
    return Result(
        "plan_vs_validate.10k", _timing(run, "plan", "10k").seconds, _timing(run, "validate", "10k").seconds, "s"
    )
