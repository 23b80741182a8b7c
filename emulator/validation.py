"""JSON Schema validation of request bodies, reported as the v1 ``issues`` list."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import Issue, bad_request


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    text = resources.files("emulator.schemas").joinpath(f"{schema_name}.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_issues(schema_name: str, document: Any, prefix: str = "") -> list[Issue]:
    errors = sorted(_validator(schema_name).iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [Issue(_dotted(prefix, error), _message(error)) for error in errors]


def require_valid(schema_name: str, document: Any, what: str, prefix: str = "") -> None:
    issues = schema_issues(schema_name, document, prefix)
    if issues:
        raise bad_request(f"invalid {what}: {len(issues)} problem(s)", issues)


def _dotted(prefix: str, error: ValidationError) -> str:
    parts = [prefix] if prefix else []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "(body)"


def _message(error: ValidationError) -> str:
    # jsonschema's messages repeat the whole offending instance; keep them short for nested objects.
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = set(schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        return f"unknown field(s): {', '.join(unknown)}"
    if error.validator == "required":
        return str(error.message).replace(" is a required property", " is required")
    return str(error.message)
