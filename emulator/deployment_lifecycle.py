"""The life of a deployment spec, derived from the time it was accepted (no background threads).

After a spec is accepted: it is applied (``externalApplied``) APPLY_SECONDS later; replica i is ready
``EMULATOR_READY_SECONDS`` (default READY_SECONDS) after that plus i * REPLICA_STAGGER_SECONDS;
``dtHealthy`` is set when the last replica is ready. Every duration is multiplied by the time scale.
``enabled: false`` or ``replicas: 0`` scales to zero: healthy as soon as applied, with no run.
``EMULATOR_CRASH=1`` in the env makes every instance end ``errored`` at its readiness time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .clock import iso
from .hooks import seconds_or

APPLY_SECONDS = 1.0
READY_SECONDS = 2.0
REPLICA_STAGGER_SECONDS = 0.5
CRASH_MESSAGE = "container exited with code 1: crash requested by EMULATOR_CRASH=1"


@dataclass(frozen=True)
class SpecTimeline:
    spec_id: str
    accepted_at: float
    applied_at: float
    replicas: int
    ready_at: tuple[float, ...]  # one per replica
    crash: bool

    @property
    def healthy_at(self) -> float | None:
        if self.crash and self.replicas > 0:
            return None
        return max(self.ready_at, default=self.applied_at)


def replicas_of(config: dict[str, Any]) -> int:
    """Desired replicas: 0 when disabled, else resources.replicas (default 1), in every apiVersion."""
    return int(config.get("resources", {}).get("replicas", 1)) if config.get("enabled", True) else 0


def env_hooks(config: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in config.get("env", []) if item["name"].startswith("EMULATOR_")}


def timeline(spec_id: str, config: dict[str, Any], accepted_at: float, time_scale: float) -> SpecTimeline:
    hooks = env_hooks(config)
    replicas = replicas_of(config)
    ready_seconds = seconds_or(hooks.get("EMULATOR_READY_SECONDS"), READY_SECONDS)
    applied_at = accepted_at + APPLY_SECONDS * time_scale
    ready_at = tuple(
        applied_at + (ready_seconds + index * REPLICA_STAGGER_SECONDS) * time_scale for index in range(replicas)
    )
    return SpecTimeline(spec_id, accepted_at, applied_at, replicas, ready_at, hooks.get("EMULATOR_CRASH") == "1")


def latest_spec_view(timeline_: SpecTimeline, spec: dict[str, Any], now: float) -> dict[str, Any]:
    """A spec version as v1 shows it (latestSpec, history items): optional dates left out until they happen."""
    healthy_at = timeline_.healthy_at
    view: dict[str, Any] = {
        "id": spec["id"],
        "deploymentId": spec["deploymentId"],
        "userId": spec["userId"],
        "data": spec["data"],
        "error": None,
        "metadata": spec.get("metadata"),
    }
    if now >= timeline_.applied_at:
        view["externalApplied"] = iso(timeline_.applied_at)
    if healthy_at is not None and now >= healthy_at:
        view["dtHealthy"] = iso(healthy_at)
    return view


def runs_view(timelines_newest_first: list[SpecTimeline], now: float) -> list[dict[str, Any]]:
    """Runs newest first: the latest spec's run once applied, and the previous one until the latest is healthy.
    Only the two newest timelines are read, so a caller passes no more than those.

    This mirrors a rolling update: old replicas keep serving until the new spec is healthy, and a spec that
    crashes never replaces them.
    """
    if not timelines_newest_first:
        return []
    latest, *older = timelines_newest_first
    runs = []
    if now >= latest.applied_at and latest.replicas > 0:
        runs.append(_run(latest, now))
    healthy_at = latest.healthy_at
    latest_settled = healthy_at is not None and now >= healthy_at
    if not latest_settled and older and older[0].replicas > 0 and now >= older[0].applied_at:
        runs.append(_run(older[0], now))
    return runs


def _run(line: SpecTimeline, now: float) -> dict[str, Any]:
    instances = [_instance(line, index, ready_at, now) for index, ready_at in enumerate(line.ready_at)]
    ready = sum(1 for instance in instances if instance["state"] == "running")
    return {
        "id": "run" + line.spec_id,
        "replicas": line.replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "instances": instances,
    }


def _instance(line: SpecTimeline, index: int, ready_at: float, now: float) -> dict[str, Any]:
    history = [
        {"state": "starting", "message": "pulling image and starting container", "timestamp": iso(line.applied_at)}
    ]
    state, message, finished = "starting", "pulling image and starting container", None
    if now >= ready_at:
        if line.crash:
            state, message, finished = "errored", CRASH_MESSAGE, iso(ready_at)
        else:
            state, message = "running", "container is ready"
        history.append({"state": state, "message": message, "timestamp": iso(ready_at)})
    instance: dict[str, Any] = {
        "id": f"{line.spec_id}-{index}",
        "instanceId": f"{line.spec_id}-{index}",
        "state": state,
        "stateMessage": message,
        "dtCreated": iso(line.applied_at),
        "history": history,
    }
    if finished is not None:
        instance["dtFinished"] = finished
    return instance
