"""Stack files: ``stacks/<stack>.yaml`` -> validated, typed declarations. No Pulumi here.

Every problem is reported with the file, the line, the path (``deployments.api.replicas``) and what was
expected, and all problems of a file are reported at once. Nothing is declared from a file that has any.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .stack_schema import REFERENCES, SECTIONS, stack_schema
from .yaml_source import Located, Path, Problem, SourceError, dotted, load

_VALIDATOR = Draft202012Validator(stack_schema())
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


@dataclass(frozen=True)
class SecretRef:
    """An env value read from secret Pulumi config; it stays secret end to end."""

    key: str


@dataclass(frozen=True)
class Declaration:
    section: str  # "projects", "experiments" or "deployments"
    key: str
    inputs: dict[str, Any]  # provider inputs except the references below; env values may be SecretRef
    project: str | None = None  # key of the project it belongs to
    model: str | None = None  # key of the experiment whose model a deployment mounts
    line: int = 1


@dataclass(frozen=True)
class StackFile:
    file: str
    declarations: dict[str, dict[str, Declaration]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Declaration]:
        return self.declarations.get(name, {})

    @property
    def secret_keys(self) -> list[str]:
        return sorted(
            {
                value.key
                for entries in self.declarations.values()
                for entry in entries.values()
                for value in (entry.inputs.get("env") or {}).values()
                if isinstance(value, SecretRef)
            }
        )


def load_stack(path: FilePath) -> StackFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError([Problem(str(path), 1, "(file)", "no such stack file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError([Problem(str(path), 1, "(file)", f"cannot read the stack file: {error}")]) from None
    return parse_stack(str(path), text)


def parse_stack(file: str, text: str) -> StackFile:
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
    problems = [
        problem for error in _VALIDATOR.iter_errors(located.data) for problem in _schema_problem(located, error)
    ]
    if not problems:
        problems = _reference_problems(located)
    if problems:
        raise SourceError(sorted(problems, key=lambda p: (p.line, p.path)))
    return StackFile(file, {section: _declare(located, section) for section in SECTIONS if section in located.data})


def _declare(located: Located, section: str) -> dict[str, Declaration]:
    declared = {}
    for key, entry in (located.data.get(section) or {}).items():
        references = REFERENCES.get(section, {})
        inputs = {name: value for name, value in entry.items() if name not in references}
        inputs["name"] = entry.get("name", key)
        if "env" in inputs:
            inputs["env"] = {
                name: SecretRef(value["secret"]) if isinstance(value, dict) else value
                for name, value in inputs["env"].items()
            }
        declared[key] = Declaration(
            section,
            key,
            inputs,
            project=entry.get("project"),
            model=entry.get("model") if "model" in references else None,
            line=located.line_of((section, key), key=True),
        )
    return declared


# -- references --------------------------------------------------------------------------------------------


def _reference_problems(located: Located) -> list[Problem]:
    data = located.data
    problems: list[Problem] = []
    for section in ("experiments", "deployments"):
        names_in_project: dict[tuple[str, str], str] = {}
        for key, entry in (data.get(section) or {}).items():
            for field_name, target in REFERENCES[section].items():
                ref = entry.get(field_name)
                if ref is None:
                    continue
                path: Path = (section, key, field_name)
                candidates = sorted((data.get(target) or {}).keys())
                if ref not in candidates:
                    problems.append(
                        Problem(
                            located.file, located.line_of(path), dotted(path), _unknown_ref(ref, target, candidates)
                        )
                    )
                elif field_name == "model" and not (data[target][ref] or {}).get("model"):
                    problems.append(
                        Problem(
                            located.file,
                            located.line_of(path),
                            dotted(path),
                            f"experiment {ref!r} registers no model; give it `model: {{name: ...}}`",
                        )
                    )
            # The API matches deployments (upsert) and experiments (adoption) by name within a project.
            name = entry.get("name", key)
            owner = (str(entry.get("project")), str(name))
            if owner in names_in_project:
                path = (section, key)
                problems.append(
                    Problem(
                        located.file,
                        located.line_of(path, key=True),
                        dotted(path),
                        f"name {name!r} is already used by {section}.{names_in_project[owner]} in project "
                        f"{entry.get('project')!r}; names must be unique within a project",
                    )
                )
            names_in_project.setdefault(owner, key)
    return problems


def _unknown_ref(ref: Any, target: str, candidates: list[str]) -> str:
    if not candidates:
        return f"refers to {ref!r}, but there are no {target} in this file"
    close = difflib.get_close_matches(str(ref), candidates, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"refers to {ref!r}, which is not one of the {target}: {', '.join(candidates)}{hint}"


# -- schema errors -----------------------------------------------------------------------------------------


def _schema_problem(located: Located, error: ValidationError) -> list[Problem]:
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    file = located.file
    if error.validator == "required":
        match = _REQUIRED.match(str(error.message))
        missing = match.group(1) if match else "?"
        return [Problem(file, located.line_of(path, key=True), dotted((*path, missing)), "is required")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        problems = []
        for unknown in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(unknown, allowed, n=1)
            suggestion = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(
                    file,
                    located.line_of((*path, unknown), key=True),
                    dotted((*path, unknown)),
                    f"unknown field; {suggestion}expected one of: {', '.join(allowed)}",
                )
            )
        return problems
    if "propertyNames" in error.absolute_schema_path:
        name = str(error.instance)
        return [
            Problem(
                file,
                located.line_of((*path, name), key=True),
                dotted((*path, name)),
                "a key must start with a letter and hold only letters, digits, '_' and '-'",
            )
        ]
    composite = isinstance(error.instance, (dict, list))
    line = located.line_of(path, key=composite)
    rule = error.validator_value if isinstance(error.validator_value, dict) else {}
    hint: str | None = schema.get("x-expected") or rule.get("x-expected")
    if hint:
        got = "" if composite else f", got {_show(error.instance)}"
        return [Problem(file, line, dotted(path), f"expected {hint}{got}")]
    if error.validator == "type":
        return [
            Problem(file, line, dotted(path), f"expected {_types(error.validator_value)}, got {_show(error.instance)}")
        ]
    if error.validator == "enum":
        options = ", ".join(json.dumps(option) for option in schema.get("enum", []))
        return [Problem(file, line, dotted(path), f"expected one of {options}, got {_show(error.instance)}")]
    return [Problem(file, line, dotted(path), str(error.message))]


def _types(expected: Any) -> str:
    names = {
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "object": "a mapping",
        "array": "a list",
        "null": "nothing",
    }
    kinds = expected if isinstance(expected, list) else [expected]
    return " or ".join(names.get(str(kind), str(kind)) for kind in kinds)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    kind = {
        dict: "a mapping",
        list: "a list",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"
