"""``drift``: what differs between a stack file and what runs on Paperspace, without the Pulumi CLI or its state.

`python -m gradient_provider drift --stack S [--format text|markdown]` finds the stack's projects (each entry's
`adopt` id, or its name: among projects of the same name, the one this stack's create tagged), reads them the way
`import` does (each kind's own import mapping: one list per project per kind, the latest run of each workflow),
maps every live object to the stack-file fields it stands for, and compares them with the stack file's entries,
matched by `adopt` id or by identity (name and project). It prints, per resource, the fields that differ (the
stack file's value, the live one) and the entries with no live object. Exit code: 0 no drift, 2 drift, 1 error.

What cannot be compared is left out: local-only fields (how `pulumi up` waits), what the program sets
(`provider_only`), `adopt`, and secret values (Paperspace never returns them: a secret reference stays a secret
reference on both sides, whatever its name).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .client import GradientApiError, GradientClient, NotFoundError, PaperspaceApi
from .credentials import mask_text
from .importer.mapping import import_team
from .importer.read import read_team
from .kinds import Kind, registry
from .kinds.importing import PLAIN_LITERAL, Entry
from .lifecycles.policy import ADOPT, Policy
from .stack import Declaration, SecretRef, StackFile, load_stack
from .stack_settings import StackSettingsError, pulumi_project_name, stack_settings
from .yaml_source import SourceError, one_line

NO_DRIFT, DRIFT = 0, 2
SECRET = "(secret)"
PLAIN_SECRET = "(plain text that looks like a credential; not shown)"


class DriftError(Exception):
    """What the user gets instead of a traceback: one line saying what to fix."""


@dataclass(frozen=True)
class FieldDrift:
    path: str
    declared: Any
    live: Any


@dataclass
class ResourceDrift:
    section: str
    key: str
    noun: str
    live_id: str | None  # None: no live object found
    fields: list[FieldDrift] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.live_id is None or bool(self.fields)


@dataclass
class DriftReport:
    file: str
    resources: list[ResourceDrift]

    @property
    def drifted(self) -> list[ResourceDrift]:
        return [r for r in self.resources if r.drifted]

    @property
    def exit_code(self) -> int:
        return DRIFT if self.drifted else NO_DRIFT


def find_drift(api: PaperspaceApi, stack: StackFile, pulumi_project: str, stack_name: str) -> DriftReport:
    scope = next(kind for kind in registry() if kind.lookup is not None)
    scope_ids: dict[str, str] = {}  # the scope kind's stack key -> live id
    for key, declaration in stack.section(scope.section).items():
        owner = f"{pulumi_project}/{stack_name}/{scope.section}/{key}"
        assert scope.lookup is not None
        ident = declaration.inputs.get(ADOPT) or scope.lookup(api, str(declaration.inputs["name"]), owner)
        if ident:
            scope_ids[key] = str(ident)
    # by name only: an adopt id that names nothing any more must be reported, not be an error
    named = {kind.section: _names(stack, kind) for kind in registry() if kind is not scope}
    try:
        team = read_team(api, scope_ids.values(), {}, named)
    except NotFoundError:  # a project's adopt id names no project: it is reported; the rest is read
        scope_ids = {key: ident for key, ident in scope_ids.items() if _exists(api, ident)}
        team = read_team(api, scope_ids.values(), {}, named)
    imported = import_team(team)
    # placeholders import wrote for plain values that look like credentials: live, those are plain text
    plain = {key for key, why in imported.secret_keys.items() if why.endswith(f"({PLAIN_LITERAL})")}
    # import keys its entries by name; a reference names the stack's own keys: translate through the live ids
    scope_key_of_id = {ident: key for key, ident in scope_ids.items()}
    import_scope_ids = {e.key: e.fields[ADOPT] for e in imported.sections.get(scope.section, [])}
    to_stack_key = {k: scope_key_of_id.get(ident, k) for k, ident in import_scope_ids.items()}

    resources: list[ResourceDrift] = []
    for kind in registry():
        live_entries = imported.sections.get(kind.section, [])
        for key, declaration in stack.section(kind.section).items():
            entry = _match(kind, declaration, live_entries, to_stack_key, scope_ids, scope is kind)
            if entry is None:
                resources.append(ResourceDrift(kind.section, key, kind.noun, None))
                continue
            found = ResourceDrift(kind.section, key, kind.noun, str(entry.fields[ADOPT]))
            found.fields = _compare(kind, declaration, _unmasked(entry, plain), to_stack_key)
            resources.append(found)
    return DriftReport(stack.file, resources)


def _exists(api: PaperspaceApi, project_id: str) -> bool:
    try:
        api.get_project(project_id)
    except NotFoundError:
        return False
    return True


def _names(stack: StackFile, kind: Kind) -> list[str]:
    return [str(d.inputs["name"]) for d in stack.section(kind.section).values() if d.inputs.get("name")]


def _match(
    kind: Kind,
    declaration: Declaration,
    live: list[Entry],
    to_stack_key: Mapping[str, str],
    scope_ids: Mapping[str, str],
    is_scope: bool,
) -> Entry | None:
    """The live entry a declaration stands for: by its adopt id, or (the scope kind) by the id found for its
    key, or by identity: its name, and its project when the kind lives in one."""
    wanted = declaration.inputs.get(ADOPT) or (scope_ids.get(declaration.key) if is_scope else None)
    if wanted:
        return next((e for e in live if e.fields.get(ADOPT) == wanted), None)
    for entry in live:
        same_name = entry.fields.get("name", entry.key) == declaration.inputs.get("name", declaration.key)
        project = entry.fields.get("project")
        same_project = project is None or to_stack_key.get(str(project)) == declaration.references.get("project")
        if same_name and same_project:
            return entry
    return None


def _comparable(kind: Kind) -> Callable[[str], bool]:
    skipped = {ADOPT} | {
        name
        for name, rule in kind.table.fields.items()
        if rule.policy is Policy.LOCAL_ONLY or rule.provider_only or rule.create_only
    }
    return lambda name: name not in skipped


def _compare(kind: Kind, declaration: Declaration, entry: Entry, to_stack_key: Mapping[str, str]) -> list[FieldDrift]:
    comparable = _comparable(kind)
    # an input a reference resolves to (a deployment's modelId from `model: train`) is compared only where the
    # stack file writes it itself: live, it is an id the file names by key
    resolved = {ref.input for ref in kind.references} - set(declaration.inputs)

    def keep(name: str) -> bool:
        return comparable(name) and name not in resolved

    declared = _canonical(kind, {k: v for k, v in declaration.inputs.items() if keep(k)})
    live = _canonical(
        kind,
        {k: v for k, v in entry.fields.items() if keep(k) and kind.reference(k) is None and k in kind.table.fields},
    )
    for name, rule in kind.table.fields.items():
        if rule.secret_values and isinstance(declared.get(name), dict) and isinstance(live.get(name), dict):
            live[name] = _hidden(declared[name], live[name])
    drifts = [
        FieldDrift(name, _shown(declared.get(name)), _shown(live.get(name)))
        for name in sorted(set(declared) | set(live))
        if keep(name) and _normal(kind, name, declared.get(name)) != _normal(kind, name, live.get(name))
    ]
    for stack_field, target in declaration.references.items():
        live_target = entry.fields.get(stack_field)
        if live_target is not None and kind.reference(stack_field) is not None:
            moved = to_stack_key.get(str(live_target), str(live_target))
            if moved != target:
                drifts.append(FieldDrift(stack_field, target, moved))
    return drifts


def _canonical(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in and the table's canonical form (what a stack file leaves implicit, such as the volume a
    model's job writes), as the provider's check makes its inputs."""
    filled = kind.table.with_defaults(fields)
    return kind.table.canonical(filled) if kind.table.canonical is not None else filled


def _unmasked(entry: Entry, plain: set[str]) -> Entry:
    """The entry with each placeholder that stands for a plain value written as that (never the value)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"secret"} and value["secret"] in plain:
                return PLAIN_SECRET
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return Entry(entry.key, walk(entry.fields), entry.notes)


def _hidden(declared: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """A live value where the stack file has a secret is someone's plain text of a secret: never printed."""
    return {
        var: PLAIN_SECRET if _shown(declared.get(var)) == SECRET and isinstance(value, str) else value
        for var, value in live.items()
    }


def _normal(kind: Kind, name: str, value: Any) -> Any:
    rule = kind.table.fields.get(name)
    value = _shown(value)
    return rule.canonical(value) if rule is not None and value is not None else value


def _shown(value: Any) -> Any:
    """Secret references of either side as one marker (values are never read), recursively."""
    if isinstance(value, SecretRef):
        return SECRET
    if isinstance(value, dict):
        if set(value) == {"secret"}:
            return SECRET
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


# -- output --------------------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    text = "—" if value is None else yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return mask_text(one_line(text.removesuffix("...").strip()))


def to_text(report: DriftReport) -> str:
    drifted = report.drifted
    lines = [f"{report.file}: drift in {len(drifted)} of {len(report.resources)} resources"]
    for resource in drifted:
        where = f"{resource.section}.{resource.key}"
        if resource.live_id is None:
            lines.append(f"  {where}: no live {resource.noun} found (deleted outside the stack, or never created)")
            continue
        lines.append(f"  {where} ({resource.noun} {resource.live_id}):")
        for change in resource.fields:
            lines.append(f"    {change.path}: stack file {_value(change.declared)}, live {_value(change.live)}")
    return "\n".join(lines) + "\n"


def to_markdown(report: DriftReport) -> str:
    drifted = report.drifted
    lines = [f"### Gradient drift: `{report.file}`", ""]
    if not drifted:
        return "\n".join([*lines, f"**No drift** in {len(report.resources)} resources.", ""])
    lines += [
        f"**Drift in {len(drifted)} of {len(report.resources)} resources.**",
        "",
        "| resource | field | stack file | live |",
        "|---|---|---|---|",
    ]
    for resource in drifted:
        name = f"{resource.noun} `{resource.key}`"
        if resource.live_id is None:
            lines.append(f"| {name} | — | declared | **not found** |")
        for change in resource.fields:
            stack_value, live_value = (_value(v).replace("|", "\\|") for v in (change.declared, change.live))
            lines.append(f"| {name} | `{change.path}` | `{stack_value}` | `{live_value}` |")
    return "\n".join([*lines, ""])


def main(stack_name: str, output: str, root: Path) -> int:
    try:
        report = _report(stack_name, root)
    except DriftError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one clean line, never a value read from Paperspace
        print(f"error: internal error ({type(error).__name__}) while reading drift; please report it", file=sys.stderr)
        return 1
    sys.stdout.write(to_markdown(report) if output == "markdown" else to_text(report))
    return report.exit_code


def _report(stack_name: str, root: Path) -> DriftReport:
    path = Path("stacks") / f"{stack_name}.yaml"
    try:
        stack = load_stack(root / path, local=False)  # no workspace is read: its files are not on Paperspace
    except SourceError as error:
        raise DriftError(f"the stack file is invalid:\n{error}") from None
    stack = StackFile(str(path), stack.declarations, stack.policy)
    try:
        api = PaperspaceApi(GradientClient(stack_settings(stack_name, root)))
        return find_drift(api, stack, pulumi_project_name(root), stack_name)
    except StackSettingsError as error:
        raise DriftError(str(error)) from None
    except GradientApiError as error:
        raise DriftError(str(error)) from None
