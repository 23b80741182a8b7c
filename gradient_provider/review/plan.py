"""Compare two versions of a stack file: per resource, the action, the risk, every changed field and the cost.

The action and risk of each change come from the lifecycles' field-policy tables; nothing here restates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from ..credentials import REDACTED, findings, mask_text, redact
from ..guardrails import POLICY_DENIED, Violation, denied, evaluate, peak_hourly, policy_changes
from ..kinds import Kind, by_section, registry
from ..lifecycles.policy import ADOPT, FieldRule, Policy, Risk
from ..prices import HOURS_PER_MONTH, price_list
from ..stack import Declaration, SecretRef, StackFile

Path = tuple[str | int, ...]

# Higher is riskier; "none" is an unchanged resource.
RISK_ORDER = {
    "none": 0,
    Risk.SAFE: 1,
    Risk.RESTART: 2,
    Risk.RETRAIN: 3,
    Risk.DOWNTIME: 4,
    Risk.DESTROY: 5,
    Risk.DATA_LOSS: 6,
}
__all__ = ["REDACTED", "Change", "Cost", "ResourcePlan", "StackPlan", "monthly", "plan_stack", "shown"]


@dataclass(frozen=True)
class Change:
    path: str  # "replicas", "env.HF_TOKEN", "autoscaling.metrics[0].value"
    old: Any
    new: Any
    policy: Policy
    risk: Risk
    note: str | None = None


@dataclass
class Cost:
    hourly_before: float | None = 0.0
    hourly_after: float | None = 0.0
    retrain: float | None = None  # upper-bound estimate of a training run this change starts
    notes: list[str] = field(default_factory=list)

    @property
    def hourly_delta(self) -> float | None:
        if self.hourly_before is None or self.hourly_after is None:
            return None
        return self.hourly_after - self.hourly_before


@dataclass
class ResourcePlan:
    section: str
    key: str
    action: str  # create, adopt, update, new-run, replace, delete, unchanged
    risk: str  # a Risk value, or "none"
    changes: list[Change] = field(default_factory=list)
    cost: Cost = field(default_factory=Cost)
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return by_section()[self.section].noun

    @property
    def runs_continuously(self) -> bool:
        """Whether it costs money by the hour while it exists (a deployment), as opposed to per run."""
        return by_section()[self.section].cost.hourly is not None


@dataclass
class Guardrails:
    """The stack's `policy:` applied to the new side: what it breaks, and its peak cost against the budget."""

    violations: list[Violation]
    peak_before: float | None
    peak_after: float | None
    budget: float | None  # maxCostPerHour's limit, when set
    changes: list[str] = field(default_factory=list)  # to the policy itself (a rule removed, a level lowered)

    @property
    def denied(self) -> bool:
        return bool(denied(self.violations))


@dataclass
class StackPlan:
    file: str
    base: str
    resources: list[ResourcePlan]
    warnings: list[str]
    guardrails: Guardrails | None = None  # only for a stack file with a `policy:`

    @property
    def changed(self) -> list[ResourcePlan]:
        return [r for r in self.resources if r.action != "unchanged"]

    @property
    def risk(self) -> str:
        return max((r.risk for r in self.resources), key=lambda risk: RISK_ORDER[risk], default="none")

    @property
    def exit_code(self) -> int:
        """0: no change; 2: only safe changes; 3: anything riskier (a change to the policy too); 4: a guardrail
        denies the new stack."""
        if self.guardrails is not None and self.guardrails.denied:
            return POLICY_DENIED
        if self.guardrails is not None and any(not c.endswith(" added") for c in self.guardrails.changes):
            return 3  # a rule removed or changed is reviewed as a risky change (one added only tightens)
        if not self.changed:
            return 0
        return 2 if RISK_ORDER[self.risk] <= RISK_ORDER[Risk.SAFE] else 3

    def total(self, attribute: str) -> float | None:
        values = [getattr(r.cost, attribute) for r in self.resources]
        if attribute == "retrain":
            values = [v for v in values if v is not None] or [0.0]
        return None if any(v is None for v in values) else sum(values)


# -- building the plan ---------------------------------------------------------------------------------------


def plan_stack(file: str, base: str, old: StackFile, new: StackFile, root: FilePath | None = None) -> StackPlan:
    """``root``: the repository root, to compare the files entries name (a local workspace) at ``base`` with
    the working tree; without it only the stack files are compared."""
    resources: list[ResourcePlan] = []
    warnings = _credential_warnings(new)
    for kind in registry():
        section = kind.section
        before, after = old.section(section), new.section(section)
        rekeyed = _rekeyed(kind, before, after)
        for key in sorted(set(before) | set(after)):
            if key in after and key not in before:
                resource = _created(kind, key, after[key])
                if key in rekeyed.values():
                    old_key = next(k for k, v in rekeyed.items() if v == key)
                    resource.notes.append(
                        f"re-keyed from `{old_key}`: Pulumi creates `{key}` and deletes `{old_key}`; with the same "
                        f"{' and '.join(kind.identity)} the new resource takes over the same Paperspace object, and "
                        f"the delete of `{old_key}` then removes it. Keep the key, or add an alias."
                    )
                    resource.risk = Risk.DESTROY
                resources.append(resource)
            elif key in before and key not in after:
                resource = _deleted(kind, key, before[key])
                if key in rekeyed:
                    resource.notes.append(f"re-keyed to `{rekeyed[key]}` (see there)")
                resources.append(resource)
            else:
                resources.append(
                    _compared(kind, key, before[key], after[key], _local(kind, before[key], after[key], root, base))
                )
    for resource in resources:
        _scrub(resource)
    plan = StackPlan(file, base, resources, [mask_text(warning) for warning in warnings])
    if new.policy is not None or old.policy is not None:
        budget = new.policy.get("maxCostPerHour") if new.policy is not None else None
        plan.guardrails = Guardrails(
            evaluate(new),
            peak_hourly(old),
            peak_hourly(new),
            float(budget.settings["limit"]) if budget else None,
            policy_changes(old.policy, new.policy),
        )
    return plan


def _view(kind: Kind, declaration: Declaration) -> dict[str, Any]:
    """What the stack file says about a resource, with the table's defaults filled in (so an explicit default
    is no change), references by key, and secrets as references."""
    view = kind.table.with_defaults(declaration.inputs)
    view.update(declaration.references)
    return view


def _rule(kind: Kind, path: Path) -> FieldRule:
    """The table's rule for a changed field; a reference (`project`, a deployment's `model`) by the provider
    input it resolves to. An experiment's `model` is its own field, not a reference."""
    top = str(path[0])
    reference = kind.reference(top)
    return kind.table.fields[reference.input if reference else top].rule_at(path[1:])


def _created(kind: Kind, key: str, declaration: Declaration) -> ResourcePlan:
    view = _view(kind, declaration)
    if view.get(ADOPT):
        return _adopted(kind, key, view)
    risk = kind.create_risk
    changes = [
        Change(_path_text(path), None, new, Policy.IN_PLACE, risk, note)
        for path, _, new, note in _shown_diff(kind.section, key, {}, view)
    ]
    resource = ResourcePlan(kind.section, key, "create", risk, changes)
    resource.cost = _cost(kind, None, view)
    return resource


def _adopted(kind: Kind, key: str, view: dict[str, Any]) -> ResourcePlan:
    """A new entry that takes an existing object over (`adopt`). Taking it over creates nothing; what updating it
    to the entry then does depends on what the object is now, which only `up` reads (the plan makes no API call):
    the plan says so instead of guessing a risk."""
    changes = [
        Change(_path_text(path), None, new, Policy.IN_PLACE, Risk.SAFE, note)
        for path, _, new, note in _shown_diff(kind.section, key, {}, view)
    ]
    resource = ResourcePlan(kind.section, key, "adopt", Risk.SAFE, changes)
    resource.notes.append(
        f"takes over the existing {kind.noun} `{view[ADOPT]}` instead of creating one; `pulumi up` reads it and "
        "updates it to this entry with the usual rules, so what that changes (nothing, an update in place, a "
        "restart, a new training run) is only known at `up`"
    )
    hourly = _hourly(kind, view, resource.cost.notes)
    resource.cost.hourly_before = resource.cost.hourly_after = hourly  # it runs already, as declared or not
    if kind.cost.hourly is not None:
        resource.cost.notes.append("cost before assumes the object already runs as this entry declares")
    return resource


def _deleted(kind: Kind, key: str, declaration: Declaration) -> ResourcePlan:
    view = _view(kind, declaration)
    risk, note = kind.on_delete(view) if kind.on_delete is not None else (Risk.DESTROY, None)
    resource = ResourcePlan(kind.section, key, "delete", risk, notes=[note] if note else [])
    resource.cost = _cost(kind, view, None)
    return resource


def _local(kind: Kind, old: Declaration, new: Declaration, root: FilePath | None, base: str) -> list[Change]:
    """What changed in the repository's files an entry names (a local workspace's files: paths only)."""
    if kind.local is None or root is None:
        return []
    return [
        Change(path, o, n, kind.table.fields[path].policy, kind.table.fields[path].risk, note)
        for path, o, n, note in kind.local.changes(old.inputs, new.inputs, root, base)
    ]


def _compared(kind: Kind, key: str, old: Declaration, new: Declaration, local: Sequence[Change] = ()) -> ResourcePlan:
    before, after = _view(kind, old), _view(kind, new)
    changes = list(local)
    for path, o, n, note in _shown_diff(kind.section, key, before, after):
        rule, top = _rule(kind, path), str(path[0])
        if kind.table.fields.get(top, rule).create_only:
            continue  # read by create only (`adopt`): adding, changing or removing it later does nothing
        changes.append(
            Change(_path_text(path), o, n, rule.policy, rule.risk_of_change(before.get(top), after.get(top)), note)
        )
    policies = {c.policy for c in changes}
    if not changes:
        action = "unchanged"
    elif Policy.REPLACE in policies:
        action = "replace"
    elif Policy.NEW_RUN in policies:
        action = "new-run"
    else:
        action = "update"
    risk = max((c.risk for c in changes), key=lambda r: RISK_ORDER[r], default="none")
    if action == "replace":
        risk = max((c.risk for c in changes if c.policy is Policy.REPLACE), key=lambda r: RISK_ORDER[r])
    resource = ResourcePlan(kind.section, key, action, risk, changes)
    if action == "replace" and after.get(ADOPT):
        resource.notes.append(
            "remove `adopt` in this change: a replacement is a create, and `adopt` would take the old object over "
            "again instead (the up fails saying so)"
        )
    resource.cost = _cost(kind, before, after, retrains=action in ("new-run", "replace"))
    return resource


def _rekeyed(kind: Kind, before: dict[str, Declaration], after: dict[str, Declaration]) -> dict[str, str]:
    """Old key -> new key for entries that left under one key and came back under another with the same
    identity (the kind's: name and project, or a project's name)."""

    def identity(declaration: Declaration) -> tuple[Any, ...]:
        view = {**declaration.inputs, **declaration.references}
        return tuple(view.get(name) for name in kind.identity)

    gone = {k: d for k, d in before.items() if k not in after}
    came = {k: d for k, d in after.items() if k not in before}
    pairs: dict[str, str] = {}
    for old_key, old in gone.items():
        for new_key, new in came.items():
            if identity(old) == identity(new) and new_key not in pairs.values():
                pairs[old_key] = new_key
                break
    return pairs


# -- values --------------------------------------------------------------------------------------------------


def shown(value: Any) -> Any:
    """A value as a plan shows it: secret references as (secret), everything else as JSON."""
    if isinstance(value, SecretRef):
        return "(secret)"
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _path_text(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _diff(path: Path, old: Any, new: Any) -> list[tuple[Path, str | None]]:
    """Changed leaves as (path, note); maps by key, lists of mappings by index, lists of scalars whole."""
    if old == new:
        return []
    if isinstance(old, SecretRef) and isinstance(new, SecretRef):
        return [(path, f"now read from secret config `{new.key}` instead of `{old.key}`")]
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in [*old, *(k for k in new if k not in old)]:
            found += _diff((*path, key), old.get(key), new.get(key))
        return found
    if isinstance(old, list) and isinstance(new, list) and not all(map(_is_scalar, old + new)):
        found = []
        for index in range(max(len(old), len(new))):
            found += _diff(
                (*path, index), old[index] if index < len(old) else None, new[index] if index < len(new) else None
            )
        return found
    return [(path, None)]


def _shown_diff(
    section: str, key: str, before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[Path, Any, Any, str | None]]:
    """The changes from ``before`` to ``after`` as the plan shows them: (path, old, new, note), each value taken
    from a redacted copy of its side, so a credential-looking literal is never shown, whole or in part, in a
    value, in a list's note or inside a nested object (a new resource shows whole objects)."""
    found = _diff((), before, after)
    if not found:
        return []  # nothing to show, so nothing to redact (most resources of a plan are unchanged)
    root: Path = (section, key)
    shown_before, shown_after = redact(before, root), redact(after, root)
    changes = []
    for path, note in found:
        old, new = _at(shown_before, before, path), _at(shown_after, after, path)
        if note is None and isinstance(old, list) and isinstance(new, list):
            note = _list_note(old, new)
        changes.append((path, old, new, note))
    return changes


def _at(shown: Any, raw: Any, path: Path) -> Any:
    """The redacted value at ``path`` (a key that was itself masked leaves only the redaction)."""
    for part in path:
        if not _has(raw, part):
            return None
        raw = raw[part]
        if not _has(shown, part):
            return REDACTED
        shown = shown[part]
    return shown


def _has(value: Any, part: str | int) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and part < len(value)


def _list_note(old: list[Any], new: list[Any]) -> str:
    if old == new:
        return "changed (values redacted)"
    added = [v for v in new if v not in old]
    removed = [v for v in old if v not in new]
    parts = [
        f"added {', '.join(map(str, added))}" if added else "",
        f"removed {', '.join(map(str, removed))}" if removed else "",
    ]
    return "; ".join(p for p in parts if p) or "reordered"


# -- cost ----------------------------------------------------------------------------------------------------


def _hourly(kind: Kind, view: dict[str, Any] | None, notes: list[str] | None) -> float | None:
    """Hourly cost of what the view declares; ``notes`` (when given) learn about unknowns and ceilings."""
    if view is None or kind.cost.hourly is None:
        return 0.0
    return kind.cost.hourly(view, price_list().price, notes if notes is not None else [])


def _cost(kind: Kind, before: dict[str, Any] | None, after: dict[str, Any] | None, retrains: bool = False) -> Cost:
    cost = Cost()
    cost.hourly_before = _hourly(kind, before, None if after is not None else cost.notes)
    cost.hourly_after = _hourly(kind, after, cost.notes)
    if kind.cost.per_run is not None and after is not None and (before is None or retrains):
        cost.retrain = kind.cost.per_run(after, price_list().price, cost.notes)
    return cost


def monthly(hourly: float | None) -> float | None:
    return None if hourly is None else hourly * HOURS_PER_MONTH


# -- credentials ---------------------------------------------------------------------------------------------


def _credential_warnings(stack: StackFile) -> list[str]:
    paths = {
        _path_text(finding.path)
        for section, entries in stack.declarations.items()
        for key, declaration in entries.items()
        for finding in findings(_view(by_section()[section], declaration), (section, key))
    }
    return [
        f"{path}: a literal that looks like a credential is in the stack file; use "
        "{secret: KEY} (Pulumi secret config) or secret:NAME (a Paperspace project secret) instead"
        for path in sorted(paths)
    ]


def _scrub(resource: ResourcePlan) -> None:
    """Hide credential-looking text in what the plan prints besides values: paths, keys and notes."""
    resource.key = mask_text(resource.key)
    resource.changes = [
        Change(mask_text(c.path), c.old, c.new, c.policy, c.risk, mask_text(c.note) if c.note else c.note)
        for c in resource.changes
    ]
    resource.notes = [mask_text(note) for note in resource.notes]
    resource.cost.notes = [mask_text(note) for note in resource.cost.notes]
