"""The registry of figures: one function each, measured against its baseline in the same run."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """One figure: ``value`` judged against ``baseline`` measured in the same run; ``ratio`` is value ÷ baseline."""

    name: str
    value: float
    baseline: float
    unit: str

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else math.inf

    def as_json(self) -> str:
        ratio = self.ratio if math.isfinite(self.ratio) else None
        return json.dumps(
            {"name": self.name, "value": self.value, "baseline": self.baseline, "ratio": ratio, "unit": self.unit}
        )


@dataclass
class Run:
    """What a figure function gets: the size of this run and resources shared by the figures of one run (an
    emulator process, a measurement two figures read), started on first use and closed when the run ends."""

    smoke: bool
    resources: ExitStack = field(default_factory=ExitStack)
    _shared: dict[str, Any] = field(default_factory=dict)

    def size(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per run under ``key``; later figures get the same value."""
        if key not in self._shared:
            self._shared[key] = make()
        found: T = self._shared[key]
        return found

    def close(self) -> None:
        self.resources.close()


@dataclass(frozen=True)
class Figure:
    name: str
    measure: Callable[[Run], Result]
    target: str  # what the issue asks of the ratio, for the table ("≤ 1.5"); "" when it asks nothing


FIGURES: dict[str, Figure] = {}


def figure(name: str, target: str = "") -> Callable[[Callable[[Run], Result]], Callable[[Run], Result]]:
    """Register a figure: a function of the run that returns its ``Result`` (named ``name``)."""

    def register(measure: Callable[[Run], Result]) -> Callable[[Run], Result]:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = Figure(name, measure, target)
        return measure

    return register


def selected(names: list[str]) -> Iterator[Figure]:
    """The figures named (each a name or a prefix such as ``emulator.``), in registration order; all without."""
    for found in FIGURES.values():
        if not names or any(found.name == name or found.name.startswith(name) for name in names):
            yield found
