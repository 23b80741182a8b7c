"""Experiments: training runs, kept as a Paperspace workflow whose runs follow the run-affecting fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...lifecycles.policy import Risk
from ...workspace import local
from ..kind import IN_PROJECT, Cost, Kind, LocalFiles, PriceOf, Reference
from .importing import IMPORT
from .jobs import dataset_keys
from .lifecycle import ExperimentLifecycle
from .runs import RUNS
from .table import TABLE
from .watch import ExperimentWatch


def run_cost(view: Mapping[str, Any], price_of: PriceOf, notes: list[str]) -> float | None:
    """An upper bound of one run: its whole timeoutSeconds on each job's machine type."""
    hours = int(view["timeoutSeconds"]) / 3600
    jobs = view.get("jobs") or {"train": {}}
    machines = [job.get("machineType") or view.get("machineType") for job in jobs.values()]
    prices = [price_of(machine) for machine in machines]
    unknown = sorted({str(m) for m, p in zip(machines, prices, strict=True) if p is None})
    if unknown:
        notes.append(f"no price for machine type {', '.join(map(repr, unknown))}: re-train cost unknown")
        return None
    each = ", ".join(f"{m} at ${p:.2f}/h" for m, p in zip(machines, prices, strict=True) if p is not None)
    notes.append(
        f"re-train estimate assumes each of its {len(machines)} job(s) uses the whole timeoutSeconds ({hours:g} h): "
        f"{each}: an upper bound"
        if len(machines) > 1
        else f"re-train estimate assumes the run uses its whole timeoutSeconds ({hours:g} h) on one {machines[0]} "
        f"at ${prices[0]:.2f}/h: an upper bound"
    )
    return sum(p for p in prices if p is not None) * hours


def training_hourly(view: Mapping[str, Any], price_of: PriceOf, notes: list[str]) -> float | None:
    """An hour of a run with every job training at once (an upper bound: `needs` runs some one after another)."""
    jobs = view.get("jobs") or {"train": {}}
    prices = [price_of(job.get("machineType") or view.get("machineType")) for job in jobs.values()]
    return None if any(p is None for p in prices) else sum(p for p in prices if p is not None)


# Datasets that jobs read and write, named by key inside `jobs`: each a real dependency of the experiment.
IN_JOBS = Reference(
    "jobs",
    "datasets",
    "datasetIds",
    "id",
    "Keys of datasets (under `datasets`) that the jobs' inputs, outputs and artifacts name.",
    within=dataset_keys,
)


KIND = Kind(
    section="experiments",
    noun="experiment",
    table=TABLE,
    lifecycle=ExperimentLifecycle,
    description="Training runs, by key: a workflow whose runs follow the run-affecting fields.",
    references=(IN_PROJECT, IN_JOBS),
    local=LocalFiles(derive=local.derive, changes=local.changes),
    create_risk=Risk.RETRAIN,
    cost=Cost(per_run=run_cost, peak_hourly=training_hourly),
    exports={"workflowId": "id", "runNumber": "runNumber", "phase": "phase", "modelId": "modelId"},
    identity=("name", "project"),
    unique_identity=True,
    watch=ExperimentWatch(),
    watch_since="runNumber",
    imports=IMPORT,
    runs=RUNS,
)
