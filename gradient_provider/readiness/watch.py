"""What the Readiness resource waits for (targets) and how a kind observes many of them at once (``Watch``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..client import PaperspaceApi
from ..lifecycles.policy import WAIT_IN_STACK

__all__ = ["WAIT_IN_STACK", "Seen", "Target", "Watch"]


@dataclass(frozen=True)
class Target:
    """One resource to wait for, as the program describes it to the Readiness resource."""

    resource: str  # "<section>.<key>", how messages and outputs name it
    kind: str  # the kind's table name: Deployment, Experiment
    id: str  # the Pulumi id: the deployment id, the workflow id
    project_id: str
    name: str
    wait: str  # the resource's own `wait`
    timeout_seconds: float
    since: Any  # what the operation produced: the deployment's spec id, the experiment's run number
    # the resource's secret env values (a secret input: encrypted in state), to mask in what a failure quotes
    secrets: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_input(cls, raw: dict[str, Any]) -> Target:
        return cls(
            str(raw["resource"]),
            str(raw["kind"]),
            str(raw["id"]),
            str(raw["projectId"]),
            str(raw["name"]),
            str(raw["wait"]),
            float(raw["timeoutSeconds"]),
            raw.get("since"),
            dict(raw.get("secrets") or {}),
        )


@dataclass(frozen=True)
class Seen:
    """One target as one poll found it: finished (with the outputs to report), failed (why), or going."""

    progress: str
    done: bool = False
    failure: str | None = None
    final: dict[str, Any] = field(default_factory=dict)


class Watch(Protocol):
    """How one kind observes its targets. ``poll`` observes every given target; its number of reads must not
    grow with the number of targets where the API allows (a list per project), and ``round`` (0, 1, 2, ...)
    lets it spread per-object reads over polls."""

    def poll(self, api: PaperspaceApi, targets: list[Target], round_: int) -> dict[str, Seen]: ...
