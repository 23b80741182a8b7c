"""Readiness: waits, in one operation, for every resource the program deferred to it. Pulumi id = "readiness".

Its only input is the list of targets (each with what its last operation produced: a spec id, a run number),
so it waits again exactly when one of them changed. Polls are adaptive (``next_poll``: fast at first, then a
twentieth of the time waited, with jitter, capped by `gradient:pollIntervalSeconds`) and batched by kind
(each kind's ``Watch``). The first failure ends the wait, naming the resource, its state and the message; a
target's own `timeoutSeconds`, counted from the start of this wait, bounds it. Refresh and destroy make no call.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..lifecycles.base import Created, Lifecycle, Observed, OperationFailedError, log, next_poll
from ..lifecycles.policy import FieldRule, FieldTable, Policy, Risk
from .watch import Seen, Target, Watch

READINESS_ID = "readiness"

TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resource", "kind", "id", "projectId", "name", "wait", "timeoutSeconds"],
    "properties": {
        "resource": {"type": "string"},
        "kind": {"type": "string"},
        "id": {"type": "string"},
        "projectId": {"type": "string"},
        "name": {"type": "string"},
        "wait": {"type": "string"},
        "timeoutSeconds": {"type": "number", "minimum": 0},
        "since": {},
    },
}

TABLE = FieldTable(
    kind="Readiness",
    fields={
        "targets": FieldRule(
            Policy.IN_PLACE,
            Risk.SAFE,
            {"type": "array", "items": TARGET_SCHEMA},
            "What to wait for: each deferred resource, with what its last operation produced (set by the program).",
            required=True,
            provider_only=True,
        )
    },
    outputs={"statuses": "per resource (`<section>.<key>`): the status it reached, and what it produced"},
)


def watches() -> dict[str, Watch]:
    """Each kind's watch, by kind name (read from the registry when asked: no import cycle with the kinds)."""
    from ..kinds import registry

    return {kind.kind: kind.watch for kind in registry() if kind.watch is not None}


class ReadinessLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        return Created(READINESS_ID, self._wait_all(inputs, {}))

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._wait_all(news, dict(olds.get("statuses") or {}))

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        # Nothing of its own exists on Paperspace: what it reported stays until the next wait.
        inputs = {"targets": state.get("targets") or []}
        return Observed(ident, {**inputs, "statuses": state.get("statuses") or {}}, inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        return None

    def _wait_all(self, inputs: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
        targets = [Target.from_input(raw) for raw in inputs.get("targets") or []]
        statuses = {
            resource: status for resource, status in earlier.items() if resource in {t.resource for t in targets}
        }
        pending = {target.resource: target for target in targets}
        by_kind = watches()
        started, round_ = self.clock.now(), 0
        last_logged: dict[str, str] = {}
        while pending:
            seen: dict[str, Seen] = {}
            groups: dict[str, list[Target]] = defaultdict(list)
            for target in pending.values():
                groups[target.kind].append(target)
            for kind, group in groups.items():
                seen.update(by_kind[kind].poll(self.api, group, round_))
            elapsed = self.clock.now() - started
            failures = [(pending[name], found) for name, found in seen.items() if found.failure is not None]
            if failures:
                raise OperationFailedError(_failed(failures, pending, seen, statuses))
            for name, found in seen.items():
                if found.done:
                    statuses[name] = found.final
                    log.info("%s: done after %.0f s (%s)", name, elapsed, found.progress)
                    del pending[name]
                elif last_logged.get(name) != found.progress:
                    log.info("%s: waiting, %.0f s elapsed: %s", name, elapsed, found.progress)
                    last_logged[name] = found.progress
            expired = [t for t in pending.values() if elapsed >= t.timeout_seconds]
            if expired:
                raise OperationFailedError(_timed_out(expired, seen, statuses))
            if pending:
                remaining = min(t.timeout_seconds for t in pending.values()) - elapsed
                self.clock.sleep(min(next_poll(elapsed, self.poll_seconds, self._jitter), remaining))
                round_ += 1
        return {**inputs, "statuses": statuses}


def _what(target: Target) -> str:
    return f"{target.resource} ({target.kind.lower()} {target.name!r}, {target.id})"


def _failed(
    failures: list[tuple[Target, Seen]], pending: dict[str, Target], seen: dict[str, Seen], done: dict[str, Any]
) -> str:
    lines = [f"{_what(target)} failed: {found.failure}" for target, found in failures]
    failed = {target.resource for target, _ in failures}
    going = [f"{_what(t)}: {seen[name].progress}" for name, t in pending.items() if name not in failed and name in seen]
    if going:
        lines.append("Still going when this was found (the next `up` waits for them again): " + "; ".join(going))
    if done:
        lines.append(f"Ready or finished: {', '.join(sorted(done))}.")
    return "\n".join(lines)


def _timed_out(expired: list[Target], seen: dict[str, Seen], done: dict[str, Any]) -> str:
    lines = [
        f"{_what(t)}: gave up after {t.timeout_seconds:g} s (its timeoutSeconds); "
        f"last state: {seen[t.resource].progress}"
        for t in expired
    ]
    if done:
        lines.append(f"Ready or finished: {', '.join(sorted(done))}.")
    return "\n".join(lines)
