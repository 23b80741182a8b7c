"""Stack files: ``stacks/<stack>.yaml`` -> validated, typed declarations. No Pulumi here.

Every problem is reported with the file, the line, the path (``deployments.api.replicas``) and what was
expected, and all problems of a file are reported at once. Nothing is declared from a file that has any.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from .credentials import Finding, findings, mask_text, scan
from .guardrails import Policy, parse_policy
from .jsonschema_rules import explain
from .kinds import Kind, registry
from .stack_schema import stack_validator
from .yaml_source import (
    MAX_BYTES,
    MAX_PROBLEMS,
    Located,
    Path,
    Problem,
    SourceError,
    clipped,
    cycle_collector_paused,
    decode,
    dotted,
    load,
)

_compiled: list[tuple[tuple[Kind, ...], Validator]] = []


def _validator(kinds: tuple[Kind, ...]) -> Validator:
    """The stack validator of a registry, built once per registry (compiling it is not free)."""
    if not _compiled or _compiled[-1][0] is not kinds:
        _compiled[:] = [(kinds, stack_validator())]
    return _compiled[-1][1]


_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_HASH = re.compile("#")
MAX_SUGGESTION_CANDIDATES = 200  # beyond this many keys, a bad reference gets no "did you mean"


@dataclass(frozen=True)
class SecretRef:
    """An env value read from secret Pulumi config; it stays secret end to end."""

    key: str


@dataclass(frozen=True)
class Declaration:
    section: str  # the kind's section: its map in the stack file
    key: str
    inputs: dict[str, Any]  # provider inputs except references; values of secret-valued maps may be SecretRef
    references: dict[str, str] = field(default_factory=dict)  # reference field -> the key it names
    line: int = 1
    # a provider input of a reference written within a field (see Reference.within) -> every key named there
    nested_references: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the line of each field as written; kept only for a stack file with a `policy:` (its rules report them)
    field_lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StackFile:
    file: str
    declarations: dict[str, dict[str, Declaration]] = field(default_factory=dict)
    policy: Policy | None = None  # the `policy:` section's guardrails (guardrails.py)

    def section(self, name: str) -> dict[str, Declaration]:
        return self.declarations.get(name, {})

    @property
    def secret_keys(self) -> list[str]:
        return sorted(
            {
                value.key
                for entries in self.declarations.values()
                for entry in entries.values()
                for inputs in [entry.inputs]
                for name in inputs
                if isinstance(inputs[name], dict)
                for value in inputs[name].values()
                if isinstance(value, SecretRef)
            }
        )


def repository_root(stack_file: FilePath) -> FilePath:
    """The folder that holds `stacks/` (where `pulumi up` runs): what a local workspace's `path` is relative to.
    A stack file outside a `stacks/` folder: its own folder."""
    folder = stack_file.resolve().parent
    return folder.parent if folder.name == "stacks" else folder


def load_stack(path: FilePath, *, credentials: bool = True, local: bool = True) -> StackFile:
    """Read and check ``path``; see ``parse_stack``. At most ``MAX_BYTES`` (and one more) are ever read. With
    ``local`` (the default), files of the repository that entries name are read too (a local workspace: it must
    exist and fit the limits, and its content hash becomes an input)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SourceError([Problem(str(path), 1, "(file)", "no such stack file")]) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SourceError([Problem(str(path), 1, "(file)", f"cannot read the stack file: {reason}")]) from None
    root = repository_root(path) if local else None
    return parse_stack(str(path), decode(str(path), data), credentials=credentials, root=root)


def parse_stack(file: str, text: str, *, credentials: bool = True, root: FilePath | None = None) -> StackFile:
    """Check a stack file's text and declare its resources; raise SourceError with every problem.

    With ``credentials`` (the default: `validate` and `pulumi up`), a literal that looks like a credential is a
    problem too; `plan` turns that off to review a change that removes one, and redacts them instead. With
    ``root`` (the repository root), the repository's files that entries name are read (``Kind.local``)."""
    with cycle_collector_paused():  # the checks allocate many small acyclic objects; see yaml_source
        return _parse_stack(file, text, credentials=credentials, root=root)


def _parse_stack(file: str, text: str, *, credentials: bool, root: FilePath | None) -> StackFile:
    located = load(file, text)
    if located.data is None:
        raise SourceError(
            [Problem(file, 1, "(file)", "the stack file is empty; an empty stack is written `projects: {}`")]
        )
    if not isinstance(located.data, dict):
        kind = type(located.data).__name__
        raise SourceError(
            [Problem(file, 1, "(file)", f"expected a mapping with projects, experiments and deployments, got a {kind}")]
        )
    errors = itertools.islice(_validator(registry()).iter_errors(located.data), 10 * MAX_PROBLEMS)
    problems = [problem for error in errors for problem in _schema_problem(located, error)]
    if not problems:
        problems = _reference_problems(located) + _nested_reference_problems(located) + _entry_problems(located)
    derived: dict[tuple[str, str], dict[str, Any]] = {}
    if root is not None and not problems:
        problems = _local_problems(located, root, derived)
    if credentials:
        problems += credential_problems(located, text)
    if problems:
        raise SourceError(sorted(problems, key=lambda p: (p.line, p.path)))
    lines = "policy" in located.data
    return StackFile(
        file,
        {
            kind.section: _declare(located, kind, derived, field_lines=lines)
            for kind in registry()
            if kind.section in located.data
        },
        parse_policy(located.data["policy"] or {}, lambda name: located.line_of(("policy", name), key=True))
        if lines
        else None,
    )


def _local_problems(located: Located, root: FilePath, derived: dict[tuple[str, str], dict[str, Any]]) -> list[Problem]:
    """Read the repository's files that entries name (Kind.local): fill ``derived`` with the inputs they give,
    and return what is wrong with them, at the line of the field that names them."""
    problems: list[Problem] = []
    for kind in registry():
        if kind.local is None:
            continue
        for key, entry in (located.data.get(kind.section) or {}).items():
            inputs, found = kind.local.derive(entry, root)
            derived[(kind.section, key)] = inputs
            for relative, message in found:
                path: Path = (kind.section, key, *relative)
                problems.append(Problem(located.file, located.line_of(path), dotted(path), message))
    return problems


def _declare(
    located: Located,
    kind: Kind,
    derived: dict[tuple[str, str], dict[str, Any]] | None = None,
    *,
    field_lines: bool = False,
) -> dict[str, Declaration]:
    declared = {}
    references = {ref.field for ref in kind.references if ref.within is None}
    for key, entry in (located.data.get(kind.section) or {}).items():
        inputs = {name: value for name, value in entry.items() if name not in references}
        inputs.update((derived or {}).get((kind.section, key), {}))
        for name, rule in kind.table.fields.items():
            if rule.defaults_to_key and name not in inputs:
                inputs[name] = key
            if rule.secret_values and isinstance(inputs.get(name), dict):
                inputs[name] = {
                    var: SecretRef(value["secret"]) if isinstance(value, dict) else value
                    for var, value in inputs[name].items()
                }
        declared[key] = Declaration(
            kind.section,
            key,
            inputs,
            references={name: entry[name] for name in sorted(references) if entry.get(name) is not None},
            line=located.line_of((kind.section, key), key=True),
            nested_references={
                ref.input: tuple(sorted({target for _, target in ref.within(entry[ref.field])}))
                for ref in kind.references
                if ref.within is not None and entry.get(ref.field) is not None
            },
            field_lines={name: located.line_of((kind.section, key, name)) for name in entry} if field_lines else {},
        )
    return declared


# -- references --------------------------------------------------------------------------------------------


def _reference_problems(located: Located) -> list[Problem]:
    """Linear in the entries. A "did you mean" costs up to MAX_SUGGESTION_CANDIDATES comparisons, so only the
    references that can be shown get one: a file's first MAX_PROBLEMS problems by line are all that is shown."""
    data = located.data
    problems: list[Problem] = []
    unknown: list[tuple[int, Any, str]] = []  # (index in problems, the key named, its section): hint pending
    keys = {kind.section: sorted(data.get(kind.section) or {}) for kind in registry()}
    for kind in registry():
        # The API matches objects of a kind by name within a project (the deployments upsert, the adoption of
        # a workflow): where the kind says so, no two entries may share the values of its identity.
        seen: dict[tuple[str, ...], str] = {}
        for key, entry in (data.get(kind.section) or {}).items():
            for ref in kind.references:
                target_key = entry.get(ref.field)
                if target_key is None or ref.within is not None:  # references within a field: checked below
                    continue
                path: Path = (kind.section, key, ref.field)
                targets = data.get(ref.target) or {}
                if target_key not in targets:
                    unknown.append((len(problems), target_key, ref.target))
                    message = ""  # below
                elif ref.needs and not (targets[target_key] or {}).get(ref.needs):
                    message = ref.needs_message.format(target=target_key)
                else:
                    continue
                problems.append(Problem(located.file, located.line_of(path), dotted(path), message))
            if not kind.unique_identity:
                continue
            identity = tuple(str(entry.get(name, key if name == "name" else None)) for name in kind.identity)
            if identity in seen:
                path = (kind.section, key)
                scope = "".join(
                    f" in {name} {value!r}" for name, value in zip(kind.identity[1:], identity[1:], strict=True)
                )
                problems.append(
                    Problem(
                        located.file,
                        located.line_of(path, key=True),
                        dotted(path),
                        f"{kind.identity[0]} {identity[0]!r} is already used by {kind.section}.{seen[identity]}"
                        f"{scope}; names must be unique within a project",
                    )
                )
            seen.setdefault(identity, key)
    unknown.sort(key=lambda item: (problems[item[0]].line, problems[item[0]].path))
    for rank, (index, target_key, target) in enumerate(unknown):
        found = problems[index]
        message = _unknown_ref(target_key, target, keys[target], suggest=rank < MAX_PROBLEMS)
        problems[index] = Problem(found.file, found.line, found.path, message)
    return problems


def _nested_reference_problems(located: Located) -> list[Problem]:
    """Keys named within a field's value (Reference.within) that are not entries of their target section."""
    data = located.data
    problems: list[Problem] = []
    for kind in registry():
        for ref in kind.references:
            if ref.within is None:
                continue
            targets = data.get(ref.target) or {}
            candidates: list[str] | None = None
            for key, entry in (data.get(kind.section) or {}).items():
                if entry.get(ref.field) is None:
                    continue
                for relative, target_key in ref.within(entry[ref.field]):
                    if target_key in targets:
                        continue
                    candidates = sorted(targets) if candidates is None else candidates
                    path: Path = (kind.section, key, ref.field, *relative)
                    # a "did you mean" costs comparisons: only for as many as a report shows
                    message = _unknown_ref(target_key, ref.target, candidates, suggest=len(problems) < MAX_PROBLEMS)
                    problems.append(Problem(located.file, located.line_of(path), dotted(path), message))
    return problems


def _entry_problems(located: Located) -> list[Problem]:
    """What each kind's table checks across the fields of one entry (FieldTable.checks), at its line."""
    problems: list[Problem] = []
    for kind in registry():
        if not kind.table.checks:
            continue
        for key, entry in (located.data.get(kind.section) or {}).items():
            for relative, message in kind.table.entry_problems(entry):
                path: Path = (kind.section, key, *relative)
                line = located.line_of(path, key=not relative)  # the whole entry: its key's line
                problems.append(Problem(located.file, line, dotted(path), message))
    return problems


def _unknown_ref(ref: Any, target: str, candidates: list[str], *, suggest: bool = True) -> str:
    if not candidates:
        return f"refers to {_quoted(ref)}, but there are no {target} in this file"
    few = suggest and len(candidates) <= MAX_SUGGESTION_CANDIDATES and len(str(ref)) <= 100
    close = difflib.get_close_matches(str(ref), candidates, n=1) if few else []
    hint = f"; did you mean {_quoted(close[0])}?" if close else ""
    listed = ", ".join(clipped(c) for c in candidates[:20]) + (
        f", and {len(candidates) - 20} more" if len(candidates) > 20 else ""
    )
    return f"refers to {_quoted(ref)}, which is not one of the {target}: {listed}{hint}"


def _quoted(value: Any) -> str:
    """A value as a message quotes it: short, and never a credential."""
    return clipped(mask_text(repr(value)))


# -- credentials -------------------------------------------------------------------------------------------


def credential_problems(located: Located, text: str) -> list[Problem]:
    """Every literal (and comment) of the file that looks like a credential, without the value itself."""
    problems = [
        Problem(
            located.file,
            located.line_of(finding.path, key=finding.in_key),
            dotted(finding.path),
            _credential_message(finding),
        )
        for finding in findings(located.data)
    ]
    return problems + _comment_problems(located, text)


def _credential_message(finding: Finding) -> str:
    path = finding.path
    if finding.in_key:
        return f"a key here looks like a credential ({finding.kind}); a stack file is committed: rename it"
    if len(path) == 4 and path[2] == "env" and isinstance(path[3], str):
        var = path[3]
        key = _config_key(var)
        return (
            f"a literal that looks like a credential ({finding.kind}); a stack file is committed: write "
            f"`{var}: {{secret: {key}}}` and set it with `pulumi config set --secret {key} <value>` (or use "
            "`secret:NAME`, a Paperspace project secret)"
        )
    return (
        f"holds what looks like a credential ({finding.kind}); a stack file is committed: keep it in secret config "
        "(`pulumi config set --secret KEY <value>`), pass it as an env variable `{secret: KEY}` and refer to "
        "that variable instead"
    )


def _config_key(var: str) -> str:
    """``HF_TOKEN`` -> ``hfToken``: the Pulumi config key this project's stacks use for a variable."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", var.lower()) if word]
    key = words[0] + "".join(word.capitalize() for word in words[1:]) if words else ""
    return key if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key) else "KEY"


def _comment_problems(located: Located, text: str) -> list[Problem]:
    """Credential-looking text outside every scalar: in a comment (or an anchor's or a tag's name)."""
    hashes = [match.start() for match in _HASH.finditer(text)]
    if not hashes:
        return []
    line_starts = [0] + [match.end() for match in _BREAK.finditer(text)]
    if text.startswith("\ufeff"):
        line_starts[0] = 1  # YAML's columns do not count a byte-order mark

    def offset(line: int, column: int) -> int:
        return line_starts[line] + column if line < len(line_starts) else len(text)

    spans = located.scalar_spans  # start line, start column, end line, end column: four per scalar
    starts = [offset(line, column) for line, column in zip(spans[0::4], spans[1::4], strict=True)]
    # the furthest any scalar so far reaches: a '#' before it is inside a scalar (a value may hold '#')
    ends = (offset(line, column) for line, column in zip(spans[2::4], spans[3::4], strict=True))
    reach = list(itertools.accumulate(ends, max, initial=0))
    problems: list[Problem] = []
    covered = 0  # the end of the last comment looked at: a '#' inside it starts nothing new
    for at in hashes:
        index = bisect.bisect_right(starts, at)  # spans that start at or before the '#'
        if at < covered or at < reach[index]:
            continue
        line = bisect.bisect_right(line_starts, at)  # 1-based: the line the comment is on
        next_scalar = starts[index] if index < len(starts) else len(text)
        covered = min(next_scalar, line_starts[line] if line < len(line_starts) else len(text))
        hits = scan(text[at:covered])
        if hits:  # one problem per comment, naming the first rule it breaks
            message = (
                f"a comment holds what looks like a credential ({hits[0].kind}); a stack file is committed: "
                "remove it and keep the value in secret config (`{secret: KEY}`)"
            )
            problems.append(Problem(located.file, line, "(comment)", message))
        if len(problems) > 10 * MAX_PROBLEMS:
            return problems  # enough to say so
    return problems


# -- schema errors -----------------------------------------------------------------------------------------


def _schema_problem(located: Located, error: ValidationError) -> list[Problem]:
    return [
        Problem(located.file, located.line_of(found.path, key=found.at_key), dotted(found.path), found.message)
        for found in explain(error)
    ]
