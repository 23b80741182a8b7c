"""Hourly machine prices from the project's data file (its source and date are in the file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

HOURS_PER_MONTH = 730  # 365 * 24 / 12


@dataclass(frozen=True)
class PriceList:
    hourly: dict[str, float]
    source: str
    retrieved: str
    currency: str

    def price(self, machine_type: str | None) -> float | None:
        return self.hourly.get(machine_type) if machine_type else None


@cache
def price_list() -> PriceList:
    data = json.loads(resources.files("gradient_provider.data").joinpath("machine_prices.json").read_text())
    return PriceList(
        {name: float(value) for name, value in data["hourly"].items()},
        data["source"],
        data["retrieved"],
        data["currency"],
    )
