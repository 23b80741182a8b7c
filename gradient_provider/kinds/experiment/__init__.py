"""Experiments: training runs, kept as a Paperspace workflow whose runs follow the run-affecting fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...lifecycles.policy import Risk
from ..kind import IN_PROJECT, Cost, Kind, PriceOf
from .lifecycle import ExperimentLifecycle
from .table import TABLE


def run_cost(view: Mapping[str, Any], price_of: PriceOf, notes: list[str]) -> float | None:
    """An upper bound of one run: its whole timeoutSeconds on its machine type."""
    price = price_of(view.get("machineType"))
    hours = int(view["timeoutSeconds"]) / 3600
    if price is None:
        notes.append(f"no price for machine type {view.get('machineType')!r}: re-train cost unknown")
        return None
    notes.append(
        f"re-train estimate assumes the run uses its whole timeoutSeconds ({hours:g} h) on one "
        f"{view['machineType']} at ${price:.2f}/h: an upper bound"
    )
    return price * hours


KIND = Kind(
    section="experiments",
    noun="experiment",
    table=TABLE,
    lifecycle=ExperimentLifecycle,
    description="Training runs, by key: a workflow whose runs follow the run-affecting fields.",
    references=(IN_PROJECT,),
    create_risk=Risk.RETRAIN,
    cost=Cost(per_run=run_cost),
    exports={"workflowId": "id", "runNumber": "runNumber", "phase": "phase", "modelId": "modelId"},
    identity=("name", "project"),
    unique_identity=True,
)
