"""What every kind's import mapping shares: the entries `import` writes, the keys it gives them, and the rules for
env values and for what a stack file cannot say.

A kind declares its import mapping in its own folder (``kinds/<kind>/importing.py``: how its live objects are read
and how one becomes a stack entry, ``ImportMapping``); `python -m gradient_provider import` (``importer/``) reads
the projects asked for, then every kind's objects, and maps them, iterating the registry.

What a stack file cannot say is reported, never guessed:
- a part of a live config or spec the wire mapping does not carry is a note (adopting keeps it; the next change
  of that resource writes the config or spec without it, or in the v1 shape for an old deployment config);
- an entry that would not be valid (a workflow of another shape, a dataset no entry stands for, a credential-
  looking literal where no `{secret: KEY}` can stand) is left out, with the reason, as comments.

Secrets (v1 never returns a value, and `import` never asks): an env value `secret:NAME` naming the project
secret the provider itself keeps for that variable (``secret_env.secret_name``: kind, resource name, variable)
becomes a `{secret: KEY}` placeholder, so the stack keeps managing it: set KEY to the value before `up`, which
writes it and rolls the resource once (a deployment restarts, an experiment runs), since the value it had cannot
be compared. Any other `secret:NAME` is a project secret made elsewhere and stays as written. A literal that
looks like a credential is not written: it becomes a placeholder too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..client import PaperspaceApi
from ..client.models import Project
from ..credentials import findings
from ..lifecycles import secret_env
from ..lifecycles.base import Lifecycle
from .kind import KEY_PATTERN

MAX_NOTES = 12  # differences listed per entry; the rest are counted
_MISSING = object()


@dataclass
class Entry:
    key: str
    fields: dict[str, Any]  # as the stack file writes them (references by key, `{secret: KEY}`)
    notes: list[str] = field(default_factory=list)  # written as comments above the entry


@dataclass
class Imported:
    sections: dict[str, list[Entry]] = field(default_factory=dict)
    left_out: dict[str, list[str]] = field(default_factory=dict)  # section -> why each object was left out
    secret_keys: dict[str, str] = field(default_factory=dict)  # secret config key -> what it stands for
    notes: list[str] = field(default_factory=list)  # about the whole file

    def add(self, section: str, entry: Entry) -> None:
        self.sections.setdefault(section, []).append(entry)

    def leave_out(self, section: str, what: str, reasons: list[str]) -> None:
        self.left_out.setdefault(section, []).append(f"{what}: not imported: {'; '.join(reasons)}")


class Keys:
    """Stack keys from Paperspace names: a letter, then letters, digits, `_` and `-`; unique in a section."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, name: str, fallback: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:60] or fallback
        if not re.match(KEY_PATTERN, base):
            base = f"{fallback}-{base}"
        key, number = base, 1
        while key in self.taken:
            number += 1
            key = f"{base}-{number}"
        self.taken.add(key)
        return key


# -- reading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeProject:
    """A project `import` was asked for, with its project secrets' names (v1 never returns a value)."""

    project: Project
    secret_names: list[str]


@dataclass
class ImportReader:
    """What a kind's `read` gets: the API, the projects asked for, the ids asked for by section (`--dataset`),
    and what the kinds read before it (dependents are read first: a workflow names the datasets it uses)."""

    api: PaperspaceApi
    projects: list[ScopeProject]
    asked: Mapping[str, list[str]] = field(default_factory=dict)
    live: dict[str, list[Any]] = field(default_factory=dict)
    named: Mapping[str, list[str]] = field(default_factory=dict)  # names asked for by section (`drift`)
    notes: list[str] = field(default_factory=list)  # worth saying at the top of the file


@dataclass(frozen=True)
class TeamSnapshot:
    """Everything `import` read: the projects asked for, and each kind's live objects by section."""

    projects: list[ScopeProject]
    live: Mapping[str, list[Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- mapping -----------------------------------------------------------------------------------------------


@dataclass
class ImportContext:
    """What a kind's `entry` gets: the snapshot, the file being built, the keys given so far in each section and
    which live id each key stands for (so a reference is written as the key of what it names)."""

    team: TeamSnapshot
    imported: Imported
    keys: defaultdict[str, Keys] = field(default_factory=lambda: defaultdict(Keys))
    ids: defaultdict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def project(self, project_id: str) -> tuple[str, ScopeProject]:
        """The stack key and the scope entry of a project `import` was asked for."""
        scope = next(p for p in self.team.projects if p.project.id == project_id)
        return self.ids["projects"][project_id], scope


# What `import` says of a placeholder that stands for a plain value that looks like a credential (drift tells
# such a value from a secret reference by it).
PLAIN_LITERAL = "a credential-looking literal"


# -- shared rules ------------------------------------------------------------------------------------------


def env_entries(
    env: dict[str, str],
    prefix: str,
    resource_name: str,
    key: str,
    secret_names: list[str],
    imported: Imported,
    notes: list[str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stack file's env (values, or `{secret: KEY}` placeholders) and the provider's secret env for checking
    (placeholder values: the real ones are never read)."""
    written: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    credential_like = {finding.path[-1] for finding in findings({"env": env})}
    for var, value in sorted(env.items()):
        made_here = value == f"secret:{secret_env.secret_name(prefix, resource_name, var)}"
        if made_here or var in credential_like:
            placeholder = config_key(key, var)
            written[var] = {"secret": placeholder}
            secrets[var] = "placeholder"
            why = "the project secret the provider keeps for it" if made_here else PLAIN_LITERAL
            imported.secret_keys[placeholder] = f"{key}.env.{var} ({why})"
            if not made_here:
                notes.append(f"env.{var} held what looks like a credential: not written; set `{placeholder}` to it")
            continue
        written[var] = value
        name = value.removeprefix("secret:") if value.startswith("secret:") else None
        if name is not None and name not in secret_names:
            notes.append(f"env.{var} refers to project secret {name!r}, which the project does not have")
    return written, secrets


def plain(env: dict[str, Any]) -> dict[str, str]:
    return {var: value for var, value in env.items() if isinstance(value, str)}


def config_key(entry_key: str, var: str) -> str:
    """A secret config key for one variable of one entry: `api` and `HF_TOKEN` -> `apiHfToken`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", f"{entry_key} {var}") if w]
    first, rest = words[0], words[1:]  # the entry key starts with a letter
    return first[0].lower() + first[1:] + "".join(w[:1].upper() + w[1:].lower() for w in rest)


def unrepresented(root: str, live: Any, rebuilt: Any) -> list[str]:
    """Parts of the live config or spec that what the entry writes would not carry (by path)."""
    lost = _lost(live, rebuilt, root)
    if not lost:
        return []
    shown = ", ".join(lost[:MAX_NOTES]) + (f", and {len(lost) - MAX_NOTES} more" if len(lost) > MAX_NOTES else "")
    return [
        f"not represented in the stack file: {shown}. Adopting keeps them; the next change of this resource "
        "writes its config without them (or as the stack file says)"
    ]


def _lost(live: Any, rebuilt: Any, path: str) -> list[str]:
    if live == rebuilt or live is None:
        return []
    if isinstance(live, dict) and isinstance(rebuilt, dict):
        if path.endswith(".env") or path == "config.env":
            return [f"{path}.{k}" for k, v in live.items() if rebuilt.get(k) != v]
        return [p for k, v in live.items() for p in _lost(v, rebuilt.get(k, _MISSING), f"{path}.{k}")]
    if isinstance(live, list) and isinstance(rebuilt, list):
        if path.endswith(".env") and all(isinstance(item, dict) for item in live + rebuilt):  # [{name, value}]
            as_map = {str(i.get("name")): i.get("value") for i in rebuilt}
            return [f"{path}.{i.get('name')}" for i in live if as_map.get(str(i.get("name"))) != i.get("value")]
        if all(isinstance(item, dict) for item in live):
            return [f"{path}[{index}]" for index, item in enumerate(live) if item not in rebuilt]
    return [path]


def add_checked(
    imported: Imported,
    section: str,
    what: str,
    lifecycle: type[Lifecycle],
    fields: dict[str, Any],
    key: str,
    notes: list[str] | None = None,
    *,
    skip_check: bool = False,
) -> None:
    """Add an entry; one whose inputs the kind refuses, or that holds a credential-looking literal no
    placeholder can stand for, is left out with the reason."""
    if not skip_check:
        _, problems = lifecycle.check(fields)
        if problems:
            imported.leave_out(section, what, [f"{p.field}: {p.reason}" for p in problems])
            return
    leaks = [".".join(map(str, finding.path)) for finding in findings(fields)]
    if leaks:
        imported.leave_out(
            section, what, [f"{', '.join(leaks)} looks like a credential, which a stack file must not hold"]
        )
        return
    imported.add(section, Entry(key, fields, notes or []))
