"""The imported entries as a stack file: YAML the loader accepts, with the notes as comments above what they are
about. The text is checked by the same loader `validate` and `pulumi up` use before it is written anywhere."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..credentials import mask_text
from ..kinds import registry
from ..kinds.importing import Imported
from ..stack import parse_stack
from ..yaml_source import one_line

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/stack.schema.json"


def render(imported: Imported, sources: list[str]) -> str:
    lines = [
        SCHEMA_LINE,
        f"# Written by `python -m gradient_provider import` from {', '.join(sources)}.",
        "# Every entry adopts (`adopt:`) what already runs: the first `pulumi up` takes it over and changes nothing",
        "# unless a note below says otherwise. `adopt` may stay or be removed after that `up`.",
    ]
    if imported.secret_keys:
        lines.append("# Before `pulumi up`, set each secret placeholder (values are never read from Paperspace):")
        lines += [
            f"#   pulumi config set --secret {key} <value>   # {why}" for key, why in imported.secret_keys.items()
        ]
    lines += _comments(imported.notes)
    written = False
    for kind in registry():
        entries = imported.sections.get(kind.section, [])
        left_out = imported.left_out.get(kind.section, [])
        if not entries and not left_out:
            continue
        lines += ["", f"{kind.section}:" if entries else f"# {kind.section}: none imported"]
        for entry in entries:
            lines += ["  " + line for line in _comments(entry.notes)]
            lines += ["  " + line for line in _dump({entry.key: entry.fields}).splitlines()]
        lines += [("  " if entries else "") + line for line in _comments(left_out)]
        written = written or bool(entries)
    if not written:
        lines += ["", "projects: {}"]
    return "\n".join(lines) + "\n"


def _dump(value: Any) -> str:
    text: str = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1_000)
    return text


def _comments(notes: list[str]) -> list[str]:
    """Notes as comment lines: one line each, with anything that looks like a credential masked (`validate`
    refuses a comment that holds one)."""
    return [f"# {mask_text(one_line(note))}" for note in notes]


def checked(path: Path, text: str) -> None:
    """Raise SourceError when the loader refuses the text (a bug here: the mapping checks each entry)."""
    parse_stack(str(path), text)


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing (a stack file half written would apply half a stack)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
