"""What every lifecycle shares: input checking against its table, results, and bounded waits."""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from ..client import PaperspaceApi
from ..jsonschema_rules import explain
from . import secret_env
from .policy import ADOPT, FieldTable, InputDiff, Policy, contains_unknown, diff_inputs

log = logging.getLogger("gradient_provider")


T = TypeVar("T")


class Clock(Protocol):
    """Time as a seam: waits read and spend time only through this, so tests can use a fake clock."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class OperationFailedError(Exception):
    """A create or update could not reach the desired state; the message says why and what was left."""


@dataclass(frozen=True)
class InputProblem:
    field: str
    reason: str


@dataclass(frozen=True)
class Created:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Observed:
    """What a read found: the live outputs, and the inputs that would produce them."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any]


def check_inputs(table: FieldTable, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[InputProblem]]:
    """Fill defaults and validate against the table's schema, with the messages `validate` gives for stack files.
    Values not known yet (preview) are not judged."""
    inputs = table.with_defaults({k: v for k, v in news.items() if not k.startswith("__")})
    judged = {k: v for k, v in inputs.items() if not contains_unknown(v)}
    problems = []
    for error in table.validator().iter_errors(judged):
        for found in explain(error):
            if found.message == "is required" and found.path[-1] in inputs:
                continue  # present, but unknown until apply
            problems.append(InputProblem(".".join(map(str, found.path)) or "(inputs)", found.message))
    problems += [InputProblem(name, problem) for name, problem in table.semantic_problems(judged)]
    if not problems:
        problems = [
            InputProblem(".".join(map(str, path)) or "(inputs)", problem)
            for path, problem in table.entry_problems(inputs)
        ]
    if not problems and table.canonical is not None:
        inputs = table.canonical(inputs)
    return inputs, problems


def read_hint(table: FieldTable, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the read of an object to adopt is given as its state: what it cannot learn from the object itself
    (local-only settings, the project and name it is declared with, ids the program resolved, such as an
    experiment's dataset ids by key), never a value it would then claim to have seen there: secret values are
    unknowable (v1 never returns them), so they count as changed and are written."""
    return {
        name: value
        for name, value in inputs.items()
        if name in table.fields
        and name != secret_env.FIELD
        and (table.fields[name].policy in (Policy.LOCAL_ONLY, Policy.REPLACE) or table.fields[name].provider_only)
    }


class Lifecycle(ABC):
    """Create, read, update and delete of one kind. ``check`` and ``diff`` are pure: no API call."""

    table: ClassVar[FieldTable]

    def __init__(self, api: PaperspaceApi, poll_seconds: float, clock: Clock | None = None) -> None:
        self.api = api
        self.poll_seconds = poll_seconds
        self.clock = clock or SystemClock()
        self._jitter = random.Random()

    @classmethod
    def check(cls, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[InputProblem]]:
        return check_inputs(cls.table, news)

    @classmethod
    def diff(cls, olds: Mapping[str, Any], news: Mapping[str, Any]) -> InputDiff:
        return diff_inputs(cls.table, olds, news)

    @abstractmethod
    def create(self, inputs: dict[str, Any]) -> Created: ...

    @abstractmethod
    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        """The live object, or None when it is gone."""

    @abstractmethod
    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Return every output (inputs included), never a partial set."""

    @abstractmethod
    def delete(self, ident: str, state: dict[str, Any]) -> None:
        """Delete; an object that is already gone is success."""

    # -- adoption: `adopt: <id>` takes an existing object over instead of creating one --------------------------

    def create_or_adopt(self, inputs: dict[str, Any]) -> Created:
        """What the provider's create does: take over the object that `adopt` names, or create a new one."""
        ident = inputs.get(ADOPT)
        return self.adopt(str(ident), inputs) if ident else self.create(inputs)

    def adopt(self, ident: str, inputs: dict[str, Any]) -> Created:
        """Take the object ``ident`` over: read it, make sure it is this team's and in the declared project, then
        reconcile it to ``inputs`` with the kind's own update, which decides what that takes (nothing, an in-place
        update, a new spec version, a new run). Nothing is created; a failure leaves the object as the update's
        own failure does, and the next `up` adopts it again."""
        noun = self.table.kind.lower()
        observed = self.read(ident, read_hint(self.table, inputs))
        if observed is None:
            raise OperationFailedError(
                f"adopt {ident!r}: there is no {noun} with this id in the team of this API key (a wrong id, or one "
                "of another team); fix `adopt`, or remove it to create a new one"
            )
        project_id = inputs.get("projectId")
        if project_id is not None and not self.adoptable_in(str(project_id), observed):
            live = observed.inputs.get("projectId")
            where = f"project {live!r}" if live and live != project_id else "another project"
            raise OperationFailedError(
                f"adopt {ident!r}: this {noun} belongs to {where}, not to the entry's project {project_id!r}; name "
                "the project that holds it, or fix `adopt` (or, to move an entry taken over earlier, remove `adopt`)"
            )
        fixed = self.diff(observed.inputs, inputs).replaces
        if fixed:
            differences = "; ".join(
                f"{name} is {observed.inputs.get(name)!r} there, {inputs.get(name)!r} here" for name in fixed
            )
            raise OperationFailedError(
                f"adopt {ident!r}: {differences}. An existing {noun} cannot change that (a change makes a new one): "
                "declare what it has to take it over; or, if the entry was taken over earlier and this change is meant "
                "to replace it, remove `adopt` first"
            )
        log.info("%s %r: taking over %s (adopt), then updating it to the stack entry", noun, inputs.get("name"), ident)
        return Created(observed.id, self.update(observed.id, observed.outputs, inputs))

    def adoptable_in(self, project_id: str, observed: Observed) -> bool:
        """Whether an object read for adoption is in the project ``project_id``. A kind whose objects do not carry
        their project (v1 workflows) asks the project instead."""
        return observed.inputs.get("projectId") == project_id

    def wait_for(self, what: str, probe: Callable[[], tuple[bool, str, T]], timeout_seconds: float) -> T:
        """Poll ``probe`` (done?, progress, observation) until done or the deadline; return the last observation.
        Progress is logged to stderr as it changes (Pulumi shows it).

        Polls come fast at first and then every twentieth of the time waited so far (see ``next_poll``), so the
        end of a wait is noticed within 5 % of its length, and a long wait costs few reads. The last probe is
        at the deadline itself. Pulumi passes no timeouts to dynamic providers, so this deadline is the only one.
        """
        started = self.clock.now()
        last_logged, last_progress = 0.0, ""
        while True:
            done, progress, observed = probe()
            elapsed = self.clock.now() - started
            if done:
                log.info("%s: done after %.0f s (%s)", what, elapsed, progress)
                return observed
            if progress != last_progress or elapsed - last_logged >= 30:
                log.info("%s: waiting, %.0f s elapsed: %s", what, elapsed, progress)
                last_logged, last_progress = elapsed, progress
            if elapsed >= timeout_seconds:
                raise OperationFailedError(
                    f"{what}: gave up after {timeout_seconds:g} s (timeoutSeconds); last state: {progress}"
                )
            self.clock.sleep(min(next_poll(elapsed, self.poll_seconds, self._jitter), timeout_seconds - elapsed))


FIRST_POLL_SECONDS = 0.5
POLL_FRACTION = 0.05  # of the time waited so far


def next_poll(elapsed: float, cap: float, rng: random.Random) -> float:
    """Seconds until the next probe: half a second at first, then a twentieth of the time waited so far, never
    more than ``cap`` (the configured poll interval, `gradient:pollIntervalSeconds`), shortened by up to 20 % at
    random so many waits started together do not poll in lockstep. Never lengthened: the end of a wait of T
    seconds is seen within max(0.5 s, 5 % of T)."""
    base = max(FIRST_POLL_SECONDS, elapsed * POLL_FRACTION)
    return min(cap, base * rng.uniform(0.8, 1.0))
