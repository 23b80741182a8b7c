"""The JSON Schema of stack files, derived from the kinds' declarations (kinds/) and their field-policy tables.

``schemas/stack.schema.json`` is this function's output, committed for editors (yaml-language-server) and
checked against it by the tests; regenerate it with ``python -m gradient_provider schema --write``.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.protocols import Validator

from .guardrails import POLICY_SCHEMA
from .jsonschema_rules import validator_for
from .kinds import Kind, registry
from .kinds.kind import KEY_PATTERN
from .lifecycles.policy import FieldRule

SCHEMA_ID = "https://gradient-stacks.invalid/schemas/stack.schema.json"

SECRET_REF = {
    "type": "object",
    "required": ["secret"],
    "additionalProperties": False,
    "properties": {
        "secret": {
            "type": "string",
            "pattern": "^[A-Za-z][A-Za-z0-9_.:-]*$",
            "description": "Name of a secret Pulumi config value (`pulumi config set --secret NAME ...`).",
        }
    },
}


def describe(rule: FieldRule, default_note: str | None = None) -> str:
    default = default_note or (f" Default: {json.dumps(rule.default)}." if rule.default is not None else "")
    return f"{rule.description}{default} Change: {rule.policy.value} (risk: {rule.risk.value})."


def _field_schema(rule: FieldRule) -> dict[str, Any]:
    schema = dict(rule.schema)
    if rule.secret_values:  # values may be Pulumi secrets, kept secret end to end
        schema = {
            **schema,
            "additionalProperties": {
                "oneOf": [{"type": "string"}, SECRET_REF],
                "x-expected": "a string, or {secret: CONFIG_KEY}",
            },
        }
    note = " Default: the entry's key." if rule.defaults_to_key else None
    return {**schema, "description": describe(rule, note)}


def entry_schema(kind: Kind) -> dict[str, Any]:
    """One entry of a kind's section: its table's stack fields, its references (by key), its exclusions."""
    properties: dict[str, Any] = {
        ref.field: {"type": "string", "description": ref.description, "x-reference": ref.target}
        for ref in kind.references
        if ref.within is None  # a field holding references within it is a table field, described there
    }
    required = [ref.field for ref in kind.references if ref.required and ref.within is None]
    for name, rule in kind.table.fields.items():
        if rule.provider_only:
            continue
        properties[name] = _field_schema(rule)
        if rule.required and not rule.defaults_to_key:
            required.append(name)
    entry: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }
    if kind.exclusive:
        entry["allOf"] = [
            {
                "not": {"required": list(group)},
                "x-expected": "only one of " + " and ".join(f"`{name}`" for name in group),
            }
            for group in kind.exclusive
        ]
    return entry


NUMBERS_NOTE = (
    "Numbers are finite (no .inf or .nan) and integers lie within -(2**53 - 1) and 2**53 - 1: what JSON and "
    "Pulumi carry exactly. `python -m gradient_provider validate` checks it."
)


def stack_validator() -> Validator:
    """A validator of stack files: Draft 2020-12 whose numbers are finite and whose integers are exact."""
    return validator_for(stack_schema())


def stack_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Gradient stack file (stacks/<stack>.yaml)",
        "description": "Desired state of one Pulumi stack of Paperspace Gradient resources.",
        "$comment": NUMBERS_NOTE,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            kind.section: {
                "type": "object",
                "description": kind.description,
                "propertyNames": {"pattern": KEY_PATTERN},
                "additionalProperties": entry_schema(kind),
            }
            for kind in registry()
        }
        | {"policy": POLICY_SCHEMA},
    }


def render() -> str:
    return json.dumps(stack_schema(), indent=2) + "\n"
