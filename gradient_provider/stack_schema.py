"""The JSON Schema of stack files, derived from the lifecycles' field-policy tables.

``schemas/stack.schema.json`` is this function's output, committed for editors (yaml-language-server) and
checked against it by the tests; regenerate it with ``python -m gradient_provider schema --write``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.protocols import Validator

from .lifecycles.deployment import TABLE as DEPLOYMENT_TABLE
from .lifecycles.experiment import TABLE as EXPERIMENT_TABLE
from .lifecycles.policy import FieldRule, FieldTable
from .lifecycles.project import TABLE as PROJECT_TABLE

SCHEMA_ID = "https://gradient-stacks.invalid/schemas/stack.schema.json"
KEY_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$"

SECTIONS: dict[str, FieldTable] = {
    "projects": PROJECT_TABLE,
    "experiments": EXPERIMENT_TABLE,
    "deployments": DEPLOYMENT_TABLE,
}

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

# Fields that a stack file writes differently from the provider input.
STACK_ONLY_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "experiments": {
        "project": {"type": "string", "description": "Key of the project (under `projects`) that holds this."},
    },
    "deployments": {
        "project": {"type": "string", "description": "Key of the project (under `projects`) that holds this."},
        "model": {
            "type": "string",
            "description": "Key of the experiment (under `experiments`) whose registered model is mounted at "
            "/opt/models. Use either this or `modelId`.",
        },
    },
}
# stack reference field -> the provider input it resolves to
PROVIDER_FIELD = {"project": "projectId", "model": "modelId"}
# section -> stack field -> the section whose keys it names
REFERENCES: dict[str, dict[str, str]] = {
    "experiments": {"project": "projects"},
    "deployments": {"project": "projects", "model": "experiments"},
}


def describe(rule: FieldRule, default_note: str | None = None) -> str:
    default = default_note or (f" Default: {json.dumps(rule.default)}." if rule.default is not None else "")
    return f"{rule.description}{default} Change: {rule.policy.value} (risk: {rule.risk.value})."


def _field_schema(section: str, name: str, rule: FieldRule) -> dict[str, Any]:
    schema = dict(rule.schema)
    if name == "env":  # values may be Pulumi secrets, kept secret end to end
        schema = {
            **schema,
            "additionalProperties": {
                "oneOf": [{"type": "string"}, SECRET_REF],
                "x-expected": "a string, or {secret: CONFIG_KEY}",
            },
        }
    note = " Default: the entry's key." if name == "name" else None
    return {**schema, "description": describe(rule, note)}


def entry_schema(section: str) -> dict[str, Any]:
    table = SECTIONS[section]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, rule in table.fields.items():
        if name == "projectId" or rule.provider_only:
            continue
        properties[name] = _field_schema(section, name, rule)
        if rule.required and name != "name":
            required.append(name)
    for name, schema in STACK_ONLY_FIELDS.get(section, {}).items():
        properties[name] = {**schema, "x-reference": REFERENCES[section][name]}
    if "project" in properties:
        required.insert(0, "project")
    entry: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }
    if section == "deployments":
        entry["not"] = {"required": ["model", "modelId"], "x-expected": "only one of `model` and `modelId`"}
    return entry


# Numbers cross Pulumi's gRPC protocol as doubles and reach the API as JSON: neither carries .inf or .nan,
# and integers beyond 2**53 - 1 lose digits. So "number" and "integer" in this schema mean what survives.
MAX_SAFE_INTEGER = 2**53 - 1
NUMBERS_NOTE = (
    "Numbers are finite (no .inf or .nan) and integers lie within -(2**53 - 1) and 2**53 - 1: what JSON and "
    "Pulumi carry exactly. `python -m gradient_provider validate` checks it."
)


def is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= MAX_SAFE_INTEGER if isinstance(value, int) else math.isfinite(value)


def _number(checker: Any, instance: Any) -> bool:
    return is_finite_number(instance)


def _integer(checker: Any, instance: Any) -> bool:
    whole = isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    return is_finite_number(instance) and whole and abs(instance) <= MAX_SAFE_INTEGER


_TYPE_CHECKER = Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _number, "integer": _integer})
StackValidator = validators.extend(Draft202012Validator, type_checker=_TYPE_CHECKER)  # type: ignore[no-untyped-call]


def stack_validator() -> Validator:
    """A validator of stack files: Draft 2020-12 whose numbers are finite and whose integers are exact."""
    validator: Validator = StackValidator(stack_schema())
    return validator


def stack_schema() -> dict[str, Any]:
    descriptions = {
        "projects": "Paperspace projects, by key. Every experiment and deployment names one with `project`.",
        "experiments": "Training runs, by key: a workflow whose runs follow the run-affecting fields.",
        "deployments": "Model endpoints, by key, kept in the desired state by the deployments upsert.",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Gradient stack file (stacks/<stack>.yaml)",
        "description": "Desired state of one Pulumi stack of Paperspace Gradient resources.",
        "$comment": NUMBERS_NOTE,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            section: {
                "type": "object",
                "description": descriptions[section],
                "propertyNames": {"pattern": KEY_PATTERN},
                "additionalProperties": entry_schema(section),
            }
            for section in SECTIONS
        },
    }


def render() -> str:
    return json.dumps(stack_schema(), indent=2) + "\n"
