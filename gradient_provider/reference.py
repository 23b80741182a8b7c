"""The stack-file field reference in Markdown, rendered from the field-policy tables.

The README holds it between two markers; ``python -m gradient_provider reference --write`` refreshes it and a
test fails when it is stale, so the reference can never drift from what the provider does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .kinds import registry

BEGIN = "<!-- BEGIN GENERATED: stack reference (python -m gradient_provider reference --write) -->"
END = "<!-- END GENERATED: stack reference -->"


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    return str(kind)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference() -> str:
    lines: list[str] = []
    for kind in registry():
        table = kind.table
        lines += [
            f"#### `{kind.section}.<key>` ({table.kind})",
            "",
            "| field | type | default | on change | risk | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for ref in kind.references:
            if ref.within is not None:
                continue  # written inside a field of the table: that field's row describes it
            rule = table.fields[ref.input]  # the input the reference resolves to decides the policy
            required = " (required)" if ref.required else ""
            lines.append(
                f"| `{ref.field}`{required} | key of `{ref.target}` | | {rule.policy.value} | {rule.risk.value} "
                f"| {_cell(ref.description)} |"
            )
        for name, rule in table.fields.items():
            if rule.provider_only:
                continue
            default = (
                "the key"
                if rule.defaults_to_key
                else (f"`{json.dumps(rule.default)}`" if rule.default is not None else "")
            )
            required = " (required)" if rule.required and not rule.defaults_to_key else ""
            lines.append(
                f"| `{name}`{required} | {_type(rule.schema)} | {default} | {rule.policy.value} | {rule.risk.value} "
                f"| {_cell(rule.description)} |"
            )
        if table.outputs:
            outputs = ", ".join(f"`{name}` ({_cell(text)})" for name, text in table.outputs.items())
            lines += ["", f"Outputs: {outputs}."]
        lines.append("")
    return "\n".join(lines)


def refresh(readme: Path, write: bool) -> bool:
    """Whether the README's generated section is current; with ``write``, make it so."""
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no generated-reference markers")
    fresh = pattern.sub(lambda _: f"{BEGIN}\n{render_reference()}{END}", text)
    if write and fresh != text:
        readme.write_text(fresh)
    return fresh == text
