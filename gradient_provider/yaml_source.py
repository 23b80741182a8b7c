"""YAML with line numbers: every value's path maps to the line it came from, and duplicate keys are errors.

Plain PyYAML silently keeps the last of two equal keys; here a duplicate is reported with both lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str  # dotted, e.g. "deployments.api.replicas"; "(file)" or "(syntax)" when about the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class SourceError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass
class Located:
    """A parsed document and where each of its values (and mapping keys) stands in the file."""

    file: str
    data: Any
    value_lines: dict[Path, int] = field(default_factory=dict)
    key_lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path, *, key: bool = False) -> int:
        """The line of ``path``, or of its nearest ancestor that exists (a missing field reports its parent)."""
        lines = self.key_lines if key else self.value_lines
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in lines:
                return lines[prefix]
            if prefix in self.key_lines:
                return self.key_lines[prefix]
        return 1


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def load(file: str, text: str) -> Located:
    """Parse one YAML document; raise SourceError for syntax errors, duplicates and non-string keys."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise SourceError([Problem(file, line, "(syntax)", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as error:
        raise SourceError([Problem(file, 1, "(syntax)", f"invalid YAML: {error}")]) from None
    located = Located(file, None)
    problems: list[Problem] = []
    if node is not None:
        located.data = _build(node, (), located, problems)
    if problems:
        raise SourceError(problems)
    return located


def _build(node: yaml.Node, path: Path, located: Located, problems: list[Problem]) -> Any:
    located.value_lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                problems.append(Problem(located.file, line, dotted(path), f"key {key!r} must be a string"))
                continue
            if key in first_seen:
                problems.append(
                    Problem(
                        located.file,
                        line,
                        dotted((*path, key)),
                        f"duplicate key {key!r} (first defined on line {first_seen[key]})",
                    )
                )
                continue
            first_seen[key] = line
            located.key_lines[(*path, key)] = line
            result[key] = _build(value_node, (*path, key), located, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, index), located, problems) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None  # a mapping or sequence used as a key
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
