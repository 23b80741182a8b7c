"""Guardrails: the rules a team sets once in a stack file's `policy:` section, which `validate`, `plan` and the
Pulumi program apply before anything is created.

```yaml
policy:
  maxCostPerHour: {limit: 20}                      # $/h at peak: every deployment at its most replicas,
                                                   # every experiment's jobs training at once
  machineTypes: {allow: [C4, C5, A4000]}           # or deny: [A100-80G], or both
  maxReplicas: {limit: 4, level: warn}             # per deployment, autoscaling's ceiling included
  retainDatasets: {}                               # no dataset may say retainOnDelete: false
  experimentTimeout: {}                            # every experiment sets timeoutSeconds (how long up waits)
  secretsFromConfig: {}                            # env secrets only as {secret: KEY}, never `secret:NAME`
```

Each rule has a `level`: `deny` (the default: the stack is refused) or `warn` (said, not refused). Rules are
kind-agnostic: a kind says what it costs and how many replicas it may run (``Kind.cost``, ``Kind.scale``), and
the machine types an entry uses are those its cost asks a price for; fields are found by the tables
(`retainOnDelete`, `timeoutSeconds` of a kind with runs, a map of secret values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .kinds import Kind, registry
from .prices import price_list

if TYPE_CHECKING:
    from .stack import Declaration, StackFile

DENY, WARN = "deny", "warn"
POLICY_DENIED = 4  # the exit code of `validate` and `plan` when a `deny` rule is broken
_LEVEL = {"enum": [DENY, WARN], "default": DENY, "description": "`deny` refuses the stack; `warn` only says so."}


def _rule(description: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": {**properties, "level": _LEVEL},
        **({"required": [name for name in properties if name == "limit"]} if "limit" in properties else {}),
    }


_MACHINES = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
RULES: dict[str, dict[str, Any]] = {
    "maxCostPerHour": _rule(
        "The most the stack may cost per hour at its peak, in the price list's currency: every deployment at its "
        "most replicas (autoscaling's ceiling) and every experiment's jobs training at once.",
        limit={"type": "number", "exclusiveMinimum": 0, "description": "Dollars (the price list's currency) per hour."},
    ),
    "machineTypes": _rule(
        "Machine types entries may use (`allow`) or may not (`deny`).",
        allow={**_MACHINES, "description": "Only these."},
        deny={**_MACHINES, "description": "Never these."},
    ),
    "maxReplicas": _rule(
        "The most replicas one entry may run (a deployment; autoscaling's `maxReplicas` counts).",
        limit={"type": "integer", "minimum": 0, "description": "Replicas."},
    ),
    "retainDatasets": _rule("No entry may set `retainOnDelete: false`: destroy keeps every dataset that holds data."),
    "experimentTimeout": _rule(
        "Every entry that trains (an experiment) sets `timeoutSeconds`: how long `up` waits for a run, and the bound "
        "of the plan's re-train estimate (the default is an hour)."
    ),
    "secretsFromConfig": _rule(
        "Secret env values only as `{secret: KEY}` (secret Pulumi config), never a `secret:NAME` made elsewhere."
    ),
}
POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Guardrails the stack must keep; `validate`, `plan` and `pulumi up` refuse a stack that breaks "
    "a `deny` rule (docs/guardrails.md).",
    "additionalProperties": False,
    "properties": RULES,
}


@dataclass(frozen=True)
class Rule:
    name: str
    level: str
    settings: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()

    def get(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


def parse_policy(section: Mapping[str, Any], line_of: Any) -> Policy:
    """The `policy:` section, already checked by the schema; ``line_of(name)`` is the line of a rule."""
    return Policy(
        tuple(
            Rule(name, str(settings.get("level", DENY)), settings, line_of(name)) for name, settings in section.items()
        )
    )


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    rule: str
    level: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.level}: {self.message} (policy.{self.rule})"


@dataclass
class Usage:
    """What one entry uses, as its kind's declarations say."""

    machines: list[str] = field(default_factory=list)
    peak_hourly: float | None = 0.0
    replicas: int | None = None


def usage(kind: Kind, declaration: Declaration) -> Usage:
    view = kind.table.with_defaults(declaration.inputs)
    found = Usage()

    def price_of(machine: str | None) -> float | None:
        if machine:
            found.machines.append(machine)
        return price_list().price(machine)

    notes: list[str] = []
    if kind.cost.peak_hourly is not None:
        found.peak_hourly = kind.cost.peak_hourly(view, price_of, notes)
    for cost in (kind.cost.hourly, kind.cost.per_run):
        if cost is not None:
            cost(view, price_of, notes)
    found.machines = sorted(set(found.machines))
    if kind.scale is not None:
        found.replicas = kind.scale(view)
    return found


def peak_hourly(stack: StackFile) -> float | None:
    """The stack's cost per hour at its peak, or None when a machine type has no price."""
    total = 0.0
    for kind in registry():
        for declaration in stack.section(kind.section).values():
            cost = usage(kind, declaration).peak_hourly
            if cost is None:
                return None
            total += cost
    return total


def evaluate(stack: StackFile) -> list[Violation]:
    """Every rule the stack breaks, in file order."""
    policy = stack.policy
    if policy is None:
        return []
    found: list[Violation] = []

    def say(rule: Rule, declaration: Declaration | None, name: str, message: str) -> None:
        if declaration is None:
            line, path = rule.line, f"policy.{rule.name}"
        else:
            line = declaration.field_lines.get(name, declaration.line)
            path = f"{declaration.section}.{declaration.key}" + (f".{name}" if name else "")
        found.append(Violation(stack.file, line, rule.name, rule.level, path, message))

    machine_rule, replicas_rule = policy.get("machineTypes"), policy.get("maxReplicas")
    retain_rule, timeout_rule = policy.get("retainDatasets"), policy.get("experimentTimeout")
    secrets_rule = policy.get("secretsFromConfig")
    for kind in registry():
        for declaration in stack.section(kind.section).values():
            used = usage(kind, declaration)
            if machine_rule is not None:
                allow, deny = machine_rule.settings.get("allow"), machine_rule.settings.get("deny") or []
                for machine in used.machines:
                    if machine in deny or (allow is not None and machine not in allow):
                        allowed = f"; allowed: {', '.join(allow)}" if allow is not None else ""
                        where = "machineType" if declaration.inputs.get("machineType") == machine else "jobs"
                        say(machine_rule, declaration, where, f"machine type {machine!r} is not allowed{allowed}")
            if replicas_rule is not None and used.replicas is not None:
                limit = int(replicas_rule.settings["limit"])
                if used.replicas > limit:
                    where = "replicas" if int(declaration.inputs.get("replicas", 1)) > limit else "autoscaling"
                    say(
                        replicas_rule,
                        declaration,
                        where,
                        f"may run {used.replicas} replicas, over the limit of {limit}",
                    )
            if retain_rule is not None and declaration.inputs.get("retainOnDelete") is False:
                say(
                    retain_rule, declaration, "retainOnDelete", "retainOnDelete: false would delete its data on destroy"
                )
            if (
                timeout_rule is not None
                and kind.runs is not None
                and "timeoutSeconds" in kind.table.fields
                and "timeoutSeconds" not in declaration.inputs
            ):
                say(
                    timeout_rule,
                    declaration,
                    "",
                    "sets no timeoutSeconds (how long `up` waits for a run, and the bound of plan's re-train estimate)",
                )
            if secrets_rule is not None:
                for name, path in _secret_literals(kind, declaration):
                    say(
                        secrets_rule,
                        declaration,
                        name,
                        f"{path} names a project secret made elsewhere (secret:…); use {{secret: KEY}} (secret "
                        "Pulumi config)",
                    )
    budget = policy.get("maxCostPerHour")
    if budget is not None:
        total = peak_hourly(stack)
        budget_limit = float(budget.settings["limit"])
        if total is None:
            unpriced = sorted(
                {
                    machine
                    for kind in registry()
                    for declaration in stack.section(kind.section).values()
                    for machine in usage(kind, declaration).machines
                    if price_list().price(machine) is None
                }
            )
            say(budget, None, "", f"no price for machine type {', '.join(unpriced)}: the peak cost cannot be checked")
        elif total > budget_limit:
            say(
                budget,
                None,
                "",
                f"the stack costs up to ${total:.2f}/h at its peak, over the budget of ${budget_limit:.2f}/h",
            )
    return sorted(found, key=lambda v: (v.line, v.path))


def _secret_literals(kind: Kind, declaration: Declaration) -> list[tuple[str, str]]:
    """(field, path) of every `secret:NAME` env value: in a field whose map takes `{secret: KEY}` values,
    and in any `env` map nested in a field (an experiment job's own env)."""
    found: list[tuple[str, str]] = []

    def walk(field_name: str, path: str, value: Any, is_env: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(field_name, f"{path}.{key}", item, key == "env")
                if is_env and isinstance(item, str) and item.startswith("secret:"):
                    found.append((field_name, f"{path}.{key}"))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(field_name, f"{path}[{index}]", item, False)

    for name, rule in kind.table.fields.items():
        if name in declaration.inputs:
            walk(name, name, declaration.inputs[name], rule.secret_values)
    return found


def policy_changes(old: Policy | None, new: Policy | None) -> list[str]:
    """How the policy itself changes between two versions of a stack file, rule by rule: a change to the rules is
    as much for review as a change to the resources (a removed rule lets through what it denied)."""
    before = {rule.name: {"level": rule.level, **rule.settings} for rule in (old.rules if old else ())}
    after = {rule.name: {"level": rule.level, **rule.settings} for rule in (new.rules if new else ())}
    changes = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after:
            changes.append(f"{name} removed")
        elif name not in before:
            changes.append(f"{name} added")
        elif before[name] != after[name]:
            parts = [
                f"{key} {before[name].get(key, '—')} → {after[name].get(key, '—')}"
                for key in [*before[name], *(k for k in after[name] if k not in before[name])]
                if before[name].get(key) != after[name].get(key)
            ]
            changes.append(f"{name}: {', '.join(parts)}")
    return changes


def denied(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == DENY]
