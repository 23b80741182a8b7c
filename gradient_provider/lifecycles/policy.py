"""Field-policy tables: for every input of a resource kind, what a change to it does.

Each kind has exactly one table. The provider's diff, the check's validation and defaults, the stack schema,
the README's field reference and the review plan all read it; nothing restates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jsonschema.protocols import Validator

from ..jsonschema_rules import validator_for

# A provider input the program sets for every kind whose table has it: which stack entry this is
# (<Pulumi project>/<stack>/<section>/<key>), for a create to mark what it makes.
OWNER = "owner"

# A provider input the program sets on a deployment or an experiment that the stack's Readiness resource waits
# for: its create and update then return once Paperspace accepted the change (see gradient_provider/readiness).
WAIT_IN_STACK = "waitInStack"

# A stack-file field every kind has: the id of an existing Paperspace object that the entry's create takes over
# instead of making a new one (lifecycles/base.py, ``Lifecycle.create_or_adopt``).
ADOPT = "adopt"

# The engine's marker for a value that is not known yet (during preview). It reaches check and diff.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Policy(StrEnum):
    IN_PLACE = "in-place"  # the live object is updated where it is
    REPLACE = "replace"  # a new object is created, then the old one deleted
    NEW_RUN = "new-run"  # a new training run starts on the same workflow (history kept)
    LOCAL_ONLY = "local-only"  # changes how the provider behaves; no API call


class Risk(StrEnum):
    SAFE = "safe"
    RESTART = "restart"
    DOWNTIME = "downtime"
    RETRAIN = "re-train"
    DESTROY = "destroy"
    DATA_LOSS = "data-loss"  # data that outlives runs (a dataset's versions) would be deleted


@dataclass(frozen=True)
class FieldRule:
    policy: Policy
    risk: Risk
    schema: dict[str, Any]  # JSON Schema of the value
    description: str
    default: Any = None  # filled in by check when the field is absent
    required: bool = False
    provider_only: bool = False  # set by the program from other stack-file fields; not written in stack files
    secret_values: bool = False  # a map whose values a stack file may give as {secret: KEY} (secret config)
    defaults_to_key: bool = False  # absent from a stack entry, it is the entry's key
    # Where a change's risk depends on the values (enabled: false -> true starts serving, it is no downtime).
    risk_of: Callable[[Any, Any], Risk] | None = None
    # The value's canonical form for comparing old and new (nested defaults filled in), so that a value written
    # out in full and the same value left to its defaults are no change.
    normalize: Callable[[Any], Any] | None = None
    # A rule JSON Schema cannot say (e.g. list entries unique by one of their fields): the problem, or None.
    semantic: Callable[[Any], str | None] | None = None
    # Read by create only (e.g. what marks the object a create made): a later change to it is no change at all.
    create_only: bool = False
    # Keys of a mapping value whose changes do something else than the field's own policy (a nested field with
    # its own rule); keys not listed follow the field.
    nested: Mapping[str, FieldRule] | None = None

    def risk_of_change(self, old: Any, new: Any) -> Risk:
        return self.risk_of(old, new) if self.risk_of is not None else self.risk

    def canonical(self, value: Any) -> Any:
        return self.normalize(value) if self.normalize is not None and value is not None else value

    def policy_of_change(self, old: Any, new: Any) -> Policy:
        """The strongest policy among the parts that changed: a nested rule's for its key, the field's own for
        the rest."""
        if not self.nested or not isinstance(old, dict) or not isinstance(new, dict):
            return self.policy
        policies = []
        for key in set(old) | set(new):
            if old.get(key) != new.get(key):
                rule = self.nested.get(key)
                policies.append(rule.policy_of_change(old.get(key), new.get(key)) if rule else self.policy)
        return max(policies, key=POLICY_ORDER.index, default=self.policy)

    def rule_at(self, path: tuple[str | int, ...]) -> FieldRule:
        """The rule of a nested path below this field (the field's own where no nested rule says otherwise)."""
        if path and self.nested and isinstance(path[0], str) and path[0] in self.nested:
            return self.nested[path[0]].rule_at(path[1:])
        return self


# A problem a JSON Schema cannot express, found in a whole entry (fields that refer to each other): where it is,
# relative to the entry, and what is wrong.
EntryProblem = tuple[tuple[str | int, ...], str]
EntryCheck = Callable[[Mapping[str, Any]], list[EntryProblem]]


# weakest to strongest: what a change in several parts of a value does
POLICY_ORDER = [Policy.LOCAL_ONLY, Policy.IN_PLACE, Policy.NEW_RUN, Policy.REPLACE]


def name_rule(policy: Policy, risk: Risk, description: str) -> FieldRule:
    """The `name` every kind has: a Paperspace name, the stack entry's key unless written."""
    return FieldRule(
        policy,
        risk,
        {"type": "string", "minLength": 1, "maxLength": 128},
        description,
        required=True,
        defaults_to_key=True,
    )


def project_rule(risk: Risk, description: str) -> FieldRule:
    """The `projectId` of a kind that lives in a project: set from the entry's `project` reference; a change
    makes a new object there."""
    return FieldRule(
        Policy.REPLACE, risk, {"type": "string", "minLength": 1}, description, required=True, provider_only=True
    )


def adopt_rule(noun: str) -> FieldRule:
    """`adopt`: the id of an existing object to take over instead of creating one. Read by create only, so once
    the object is in the stack the field may stay or go (or change) without a diff."""
    return FieldRule(
        Policy.LOCAL_ONLY,
        Risk.SAFE,
        {"type": "string", "minLength": 1, "maxLength": 128},
        f"Id of an existing {noun} to take over instead of creating one: the first `pulumi up` reads it, checks it "
        "belongs to this team (and to the entry's project, where it has one), and updates it to this entry. Read by "
        "that create only: it may stay or be removed afterwards, with no change.",
        create_only=True,
    )


def waiting_rules(modes: list[str], what: str, timeout_default: int, timeout_max: int) -> dict[str, FieldRule]:
    """The two local-only fields every long-running kind has: what `pulumi up` waits for, and for how long."""
    return {
        "wait": FieldRule(
            Policy.LOCAL_ONLY, Risk.SAFE, {"enum": modes}, f"What `pulumi up` waits for: {what}.", default=modes[0]
        ),
        "timeoutSeconds": FieldRule(
            Policy.LOCAL_ONLY,
            Risk.SAFE,
            {"type": "integer", "minimum": 1, "maximum": timeout_max},
            "How long `pulumi up` waits before failing.",
            default=timeout_default,
        ),
    }


def wait_in_stack_rule() -> FieldRule:
    """The `waitInStack` input of a kind whose waits the Readiness resource may take over."""
    return FieldRule(
        Policy.LOCAL_ONLY,
        Risk.SAFE,
        {"type": "boolean"},
        "Set by the program: the stack's Readiness resource waits for this, so its create and update return once "
        "Paperspace accepted the change and hold none of the provider's four operation slots while it settles.",
        provider_only=True,
        create_only=True,
    )


@dataclass(frozen=True)
class FieldTable:
    kind: str
    fields: Mapping[str, FieldRule]
    outputs: Mapping[str, str] = field(default_factory=dict)  # computed output -> description
    # Checks across fields, run by `validate` (with the entry's line numbers) and by the provider's check.
    checks: tuple[EntryCheck, ...] = ()
    # The inputs' canonical form, applied by check after the defaults: what the stack file leaves implicit
    # made explicit, so that what a read gives back compares equal. Values may be unknown (preview).
    canonical: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def schema(self) -> dict[str, Any]:
        """JSON Schema of the provider inputs (camelCase keys), derived from the rules."""
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [name for name, rule in self.fields.items() if rule.required],
            "properties": {
                name: {**rule.schema, "description": rule.description} for name, rule in self.fields.items()
            },
        }

    def validator(self) -> Validator:
        return validator_for(self.schema())

    def semantic_problems(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(field, problem) for every field whose value breaks its rule's semantic check."""
        found = []
        for name, rule in self.fields.items():
            if rule.semantic is not None and inputs.get(name) is not None and not contains_unknown(inputs[name]):
                problem = rule.semantic(inputs[name])
                if problem:
                    found.append((name, problem))
        return found

    def entry_problems(self, inputs: Mapping[str, Any]) -> list[EntryProblem]:
        """Every cross-field problem of a whole entry (none while a value it looks at is unknown)."""
        if contains_unknown(dict(inputs)):
            return []
        return [problem for check in self.checks for problem in check(inputs)]

    def with_defaults(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        filled = dict(inputs)
        for name, rule in self.fields.items():
            if filled.get(name) is None and rule.default is not None:
                filled[name] = rule.default
        return filled

    def by_policy(self, policy: Policy) -> list[str]:
        return [name for name, rule in self.fields.items() if rule.policy is policy]


@dataclass(frozen=True)
class InputDiff:
    changed: tuple[str, ...]
    replaces: tuple[str, ...]
    table: FieldTable
    policies: Mapping[str, Policy] = field(default_factory=dict)  # changed field -> what its change does

    @property
    def has_changes(self) -> bool:
        return bool(self.changed)

    @property
    def starts_run(self) -> bool:
        return any(self.policies[name] is Policy.NEW_RUN for name in self.changed)

    @property
    def touches_api(self) -> bool:
        return any(self.policies[name] is not Policy.LOCAL_ONLY for name in self.changed)


def unique_by(key: str, what: str) -> Callable[[Any], str | None]:
    """A semantic check: the entries of a list differ in ``key``."""

    def check(entries: Any) -> str | None:
        seen = [entry.get(key) for entry in entries if isinstance(entry, dict)]
        repeated = sorted({str(value) for value in seen if seen.count(value) > 1})
        return f"{what} must be unique; repeated: {', '.join(repeated)}" if repeated else None

    return check


def contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def diff_inputs(table: FieldTable, olds: Mapping[str, Any], news: Mapping[str, Any]) -> InputDiff:
    """Which declared fields differ (defaults applied on both sides; an unknown value counts as changed)."""
    old, new = table.with_defaults(olds), table.with_defaults(news)
    changed = tuple(
        name
        for name, rule in table.fields.items()
        if not rule.create_only
        and (contains_unknown(new.get(name)) or rule.canonical(old.get(name)) != rule.canonical(new.get(name)))
    )
    policies = {
        name: table.fields[name].policy
        if contains_unknown(new.get(name))
        else table.fields[name].policy_of_change(old.get(name), new.get(name))
        for name in changed
    }
    replaces = tuple(name for name in changed if policies[name] is Policy.REPLACE)
    return InputDiff(changed, replaces, table, policies)
