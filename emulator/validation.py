"""JSON Schema validation of request bodies, reported as the v1 ``issues`` list."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import Issue, bad_request

# jsonschema's messages quote the offending value, which may be a 1 MiB string: they are cut to this length.
MAX_MESSAGE = 300


@cache
def _schema(schema_name: str) -> dict[str, Any]:
    text = resources.files("emulator.schemas").joinpath(f"{schema_name}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(schema_name: str, definition: str | None = None) -> Draft202012Validator:
    """A validator of a schema file, or of one of its ``$defs`` (whose references resolve in that file)."""
    schema = _schema(schema_name)
    if definition is not None:
        if definition not in schema.get("$defs", {}):
            raise KeyError(f"{schema_name}.json has no $defs/{definition}")
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(schema)


def schema_issues(schema_name: str, document: Any, prefix: str = "", definition: str | None = None) -> list[Issue]:
    errors = sorted(
        _validator(schema_name, definition).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    )
    return [Issue(_dotted(prefix, error), _message(error)) for error in errors]


def require_valid(schema_name: str, document: Any, what: str, prefix: str = "", definition: str | None = None) -> None:
    issues = schema_issues(schema_name, document, prefix, definition)
    if issues:
        raise bad_request(f"invalid {what}: {len(issues)} problem(s)", issues)


def _dotted(prefix: str, error: ValidationError) -> str:
    parts = [prefix] if prefix else []
    path = list(error.absolute_path)
    missing = _missing_property(error)
    if missing is not None:
        path.append(missing)  # a missing field is reported at its own path
    for part in path:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "(body)"


def _missing_property(error: ValidationError) -> str | None:
    if error.validator != "required" or not isinstance(error.instance, dict):
        return None
    wanted = error.validator_value if isinstance(error.validator_value, list) else []
    return next((p for p in wanted if p not in error.instance and repr(p) in error.message), None)


def _message(error: ValidationError) -> str:
    message = _full_message(error)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _full_message(error: ValidationError) -> str:
    # jsonschema's messages repeat the whole offending instance; keep them short for nested objects.
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = set(schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        return f"unknown field(s): {', '.join(unknown)}"
    if error.validator == "required":
        return "is required"
    return str(error.message)
