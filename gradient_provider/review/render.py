"""The plan as Markdown for a pull-request comment, and as a stable JSON document for tools."""

from __future__ import annotations

import json
from typing import Any

from ..prices import price_list
from .plan import Change, ResourcePlan, StackPlan, monthly, shown

ACTION_LABEL = {
    "create": "create",
    "adopt": "adopt (take over)",
    "update": "update in place",
    "new-run": "new training run",
    "replace": "replace",
    "delete": "delete",
    "unchanged": "unchanged",
}
JSON_VERSION = 1


def money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "unknown"
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    return f"{sign}${abs(value):,.2f}"


# -- JSON ----------------------------------------------------------------------------------------------------


def _amount(value: float | None) -> float | None:
    """Money in JSON: rounded to a hundredth of a cent, so documents compare stably."""
    return None if value is None else round(value, 4)


def _change_json(change: Change) -> dict[str, Any]:
    body = {
        "path": change.path,
        "old": shown(change.old),
        "new": shown(change.new),
        "policy": change.policy.value,
        "risk": change.risk.value,
    }
    if change.note:
        body["note"] = change.note
    return body


def _resource_json(resource: ResourcePlan) -> dict[str, Any]:
    cost = resource.cost
    return {
        "section": resource.section,
        "key": resource.key,
        "kind": resource.kind,
        "action": resource.action,
        "risk": str(resource.risk),
        "changes": [_change_json(c) for c in resource.changes],
        "cost": {
            "hourlyBefore": _amount(cost.hourly_before),
            "hourlyAfter": _amount(cost.hourly_after),
            "hourlyDelta": _amount(cost.hourly_delta),
            "monthlyDelta": _amount(monthly(cost.hourly_delta)),
            "retrainEstimate": _amount(cost.retrain),
            "notes": cost.notes,
        },
        "notes": resource.notes,
    }


def to_json(plans: list[StackPlan], exit_code: int) -> str:
    prices = price_list()
    document = {
        "version": JSON_VERSION,
        "exitCode": exit_code,
        "prices": {"source": prices.source, "retrieved": prices.retrieved, "currency": prices.currency},
        "stacks": [
            {
                "file": plan.file,
                "base": plan.base,
                "risk": str(plan.risk),
                "exitCode": plan.exit_code,
                "summary": _counts(plan),
                "cost": {
                    "hourlyBefore": _amount(plan.total("hourly_before")),
                    "hourlyAfter": _amount(plan.total("hourly_after")),
                    "hourlyDelta": _amount(plan.total("hourly_delta")),
                    "monthlyBefore": _amount(monthly(plan.total("hourly_before"))),
                    "monthlyAfter": _amount(monthly(plan.total("hourly_after"))),
                    "monthlyDelta": _amount(monthly(plan.total("hourly_delta"))),
                    "retrainEstimate": _amount(plan.total("retrain")),
                },
                "warnings": plan.warnings,
                "policy": _guardrails_json(plan),
                "resources": [_resource_json(r) for r in plan.resources],
            }
            for plan in plans
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def _guardrails_json(plan: StackPlan) -> dict[str, Any] | None:
    guard = plan.guardrails
    if guard is None:
        return None
    return {
        "denied": guard.denied,
        "budgetPerHour": _amount(guard.budget),
        "peakPerHourBefore": _amount(guard.peak_before),
        "peakPerHourAfter": _amount(guard.peak_after),
        "changes": guard.changes,
        "violations": [
            {"line": v.line, "rule": v.rule, "level": v.level, "path": v.path, "message": v.message}
            for v in guard.violations
        ],
    }


def _counts(plan: StackPlan) -> dict[str, int]:
    counts = {action: 0 for action in ACTION_LABEL}
    for resource in plan.resources:
        counts[resource.action] += 1
    return counts


# -- Markdown ------------------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if value is None:
        return "—"
    text = json.dumps(shown(value), ensure_ascii=False) if not isinstance(shown(value), str) else shown(value)
    return f"`{text}`".replace("|", "\\|")


def _summary_line(plan: StackPlan) -> str:
    counts = _counts(plan)
    parts = [f"{n} {ACTION_LABEL[action]}" for action, n in counts.items() if n and action != "unchanged"]
    if not parts:
        return "**No changes.**"
    hourly = plan.total("hourly_delta")
    cost = (
        f"cost {money(plan.total('hourly_before'))}/h → {money(plan.total('hourly_after'))}/h "
        f"({money(hourly, signed=True)}/h, {money(monthly(hourly), signed=True)}/month)"
    )
    retrain = plan.total("retrain")
    extra = f" · re-train up to {money(retrain)}" if retrain else ""
    return f"**{', '.join(parts)}** · risk: **{plan.risk}** · {cost}{extra}"


def _resource_section(resource: ResourcePlan) -> list[str]:
    cost = resource.cost
    lines = [
        "<details>",
        f"<summary>{resource.section}.{resource.key}: {ACTION_LABEL[resource.action]} ({resource.risk})</summary>",
        "",
    ]
    if resource.action == "delete":
        lines.append(f"The {resource.kind} `{resource.key}` is removed from the stack: `pulumi up` deletes it.")
    else:
        lines += ["| field | old | new | on change | risk |", "|---|---|---|---|---|"]
        for change in resource.changes:
            note = f" ({change.note})" if change.note else ""
            lines.append(
                f"| `{change.path}` | {_value(change.old)} | {_value(change.new)}{note} | "
                f"{change.policy.value} | {change.risk.value} |"
            )
    notes = resource.notes + cost.notes
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    lines += ["", "</details>", ""]
    return lines


def _guardrails_markdown(plan: StackPlan) -> list[str]:
    guard = plan.guardrails
    if guard is None:
        return []
    budget = f" against a budget of **{money(guard.budget)}/h**" if guard.budget is not None else ""
    verdict = "**Policy: denied.**" if guard.denied else "**Policy: passed.**"
    lines = [f"{verdict} Peak cost {money(guard.peak_before)}/h → {money(guard.peak_after)}/h{budget}.", ""]
    for v in guard.violations:
        icon = "⛔" if v.level == "deny" else "⚠️"
        lines.append(f"- {icon} `{plan.file}:{v.line}` `{v.path}`: {v.message} (`policy.{v.rule}`, {v.level})")
    if guard.changes:
        lines += ["", "**The policy itself changes** (review it as a risky change):"]
        lines += [f"- `policy.{change}`" for change in guard.changes]
    return [*lines, ""] if guard.violations or guard.changes else lines


def to_markdown(plans: list[StackPlan]) -> str:
    prices = price_list()
    lines: list[str] = []
    for plan in plans:
        lines += [f"### Gradient plan: `{plan.file}` (against `{plan.base}`)", "", _summary_line(plan), ""]
        for warning in plan.warnings:
            lines.append(f"> ⚠️ {warning}")
        if plan.warnings:
            lines.append("")
        lines += _guardrails_markdown(plan)
        if plan.changed:
            lines += [
                "| resource | action | risk | cost/h before → after | Δ/month | re-train |",
                "|---|---|---|---|---|---|",
            ]
            for r in plan.changed:
                c = r.cost
                running = "— | —"
                if r.runs_continuously:
                    running = (
                        f"{money(c.hourly_before)} → {money(c.hourly_after)} | "
                        f"{money(monthly(c.hourly_delta), signed=True)}"
                    )
                retrain = f"up to {money(c.retrain)}" if c.retrain is not None else "—"
                lines.append(f"| {r.kind} `{r.key}` | {ACTION_LABEL[r.action]} | {r.risk} | {running} | {retrain} |")
            lines.append("")
            for resource in plan.changed:
                lines += _resource_section(resource)
    lines.append(
        f"<sub>Prices: {prices.source}, retrieved {prices.retrieved} ({prices.currency} per machine-hour; "
        "a month is 730 h).</sub>"
    )
    return "\n".join(lines) + "\n"
