"""Deployments: model endpoints, kept in the desired state by the v1 deployments upsert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..kind import IN_PROJECT, Cost, Kind, PriceOf, Reference
from .importing import IMPORT
from .lifecycle import DeploymentLifecycle
from .table import MODEL_MOUNT_PATH, TABLE
from .watch import DeploymentWatch


def hourly(view: Mapping[str, Any], price_of: PriceOf, notes: list[str]) -> float | None:
    """The cost of an hour at `replicas` (nothing when disabled); autoscaling's ceiling goes to ``notes``."""
    replicas = int(view.get("replicas", 1)) if view.get("enabled", True) else 0
    if replicas == 0:
        return 0.0
    price = price_of(view.get("machineType"))
    if price is None:
        notes.append(f"no price for machine type {view.get('machineType')!r} in the price list")
        return None
    autoscaling = view.get("autoscaling") or {}
    if autoscaling and autoscaling.get("enabled", True):
        ceiling = price * int(autoscaling["maxReplicas"])
        notes.append(f"autoscaling may add replicas: up to ${ceiling:.2f}/h at {autoscaling['maxReplicas']} replicas")
    return price * replicas


def most_replicas(view: Mapping[str, Any]) -> int:
    """The most replicas it may run: its `replicas`, or autoscaling's ceiling (none when disabled)."""
    if not view.get("enabled", True):
        return 0
    autoscaling = view.get("autoscaling") or {}
    ceiling = int(autoscaling["maxReplicas"]) if autoscaling and autoscaling.get("enabled", True) else 0
    return max(int(view.get("replicas", 1)), ceiling)


def peak_hourly(view: Mapping[str, Any], price_of: PriceOf, notes: list[str]) -> float | None:
    replicas = most_replicas(view)
    price = price_of(view.get("machineType"))
    return 0.0 if replicas == 0 else None if price is None else price * replicas


KIND = Kind(
    section="deployments",
    noun="deployment",
    table=TABLE,
    lifecycle=DeploymentLifecycle,
    description="Model endpoints, by key, kept in the desired state by the deployments upsert.",
    references=(
        IN_PROJECT,
        Reference(
            "model",
            "experiments",
            "modelId",
            "modelId",
            f"Key of the experiment (under `experiments`) whose registered model is mounted at {MODEL_MOUNT_PATH}. "
            "Use either this or `modelId`.",
            needs="model",
            needs_message="experiment {target!r} registers no model; give it `model: {{name: ...}}`",
        ),
    ),
    exclusive=(("model", "modelId"),),
    cost=Cost(hourly=hourly, peak_hourly=peak_hourly),
    scale=most_replicas,
    exports={"id": "id", "endpoint": "endpoint", "status": "status"},
    identity=("name", "project"),
    unique_identity=True,
    watch=DeploymentWatch(),
    watch_since="specId",
    imports=IMPORT,
)
