"""JSON Schema, as this project uses it: one validator (numbers that survive JSON and Pulumi's gRPC) and one
translator of its errors into messages a person reads. The stack loader and the providers' check both use it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from .review.credentials import mask_text, name_says_secret
from .yaml_source import clipped

Path = tuple[str | int, ...]

# Numbers cross Pulumi's gRPC protocol as doubles and reach the API as JSON: neither carries .inf or .nan,
# and integers beyond 2**53 - 1 lose digits. So "number" and "integer" here mean what survives.
MAX_SAFE_INTEGER = 2**53 - 1
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
KEY_MESSAGE = "a key must start with a letter and hold only letters, digits, '_' and '-'"


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
FiniteValidator = validators.extend(Draft202012Validator, type_checker=_TYPE_CHECKER)  # type: ignore[no-untyped-call]


def validator_for(schema: dict[str, Any]) -> Validator:
    """Draft 2020-12 whose numbers are finite and whose integers are exact."""
    found: Validator = FiniteValidator(schema)
    return found


@dataclass(frozen=True)
class Explained:
    path: Path  # where the problem is: a missing or unknown field at its own path
    message: str
    at_key: bool  # said of the key (its line), not of the value


def explain(error: ValidationError) -> list[Explained]:
    """What a validation error means, in words; values shown by kind, never a credential-looking one."""
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        match = _REQUIRED.match(str(error.message))
        return [Explained((*path, match.group(1) if match else "?"), "is required", True)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        found = []
        for unknown in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(unknown, allowed, n=1)
            suggestion = f"did you mean {close[0]!r}? " if close else ""
            found.append(
                Explained((*path, unknown), f"unknown field; {suggestion}expected one of: {', '.join(allowed)}", True)
            )
        return found
    if "propertyNames" in error.absolute_schema_path:
        return [Explained((*path, str(error.instance)), KEY_MESSAGE, True)]
    composite = isinstance(error.instance, (dict, list))
    rule = error.validator_value if isinstance(error.validator_value, dict) else {}
    hint: str | None = schema.get("x-expected") or rule.get("x-expected")
    shown = show(error.instance, path)
    if hint:
        got = "" if composite else f", got {shown}"
        return [Explained(path, f"expected {hint}{got}", composite)]
    if error.validator == "type":
        return [Explained(path, _type_message(error.validator_value, error.instance, shown), composite)]
    if error.validator == "enum":
        options = ", ".join(json.dumps(option) for option in schema.get("enum", []))
        return [Explained(path, f"expected one of {options}, got {shown}", composite)]
    message = str(error.message)
    if not _plain_number(error.instance):  # jsonschema quotes the value: quote it as `show` does instead
        message = message.replace(repr(error.instance), shown)
    return [Explained(path, message, composite)]


def _plain_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and is_finite_number(value)


def _type_message(expected: Any, instance: Any, shown: str) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    number = isinstance(instance, (int, float)) and not isinstance(instance, bool)
    if number and isinstance(instance, int) and abs(instance) > MAX_SAFE_INTEGER and "integer" in kinds:
        return (
            f"expected an integer between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER} (what Pulumi carries "
            f"exactly), got {shown}"
        )
    if number and not is_finite_number(instance) and "number" in kinds:
        return f"expected a finite number, got {shown}"
    return f"expected {_types(expected)}, got {shown}"


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


def show(value: Any, path: Path = ()) -> str:
    """A value as a message shows it: its kind, then the value itself unless it is long, big, or might be a
    credential (a name that says secret, or a credential-looking string)."""
    kind = {
        dict: "a mapping",
        list: "a list",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{kind} {'.nan' if math.isnan(value) else '.inf' if value > 0 else '-.inf'}"
    if isinstance(value, (dict, list)):  # its contents could be anything, credentials included
        return kind
    if isinstance(value, str) and len(value) > 200:
        return f"{kind} of {len(value)} characters"
    name = next((part for part in reversed(path) if isinstance(part, str)), "")
    if name_says_secret(name) and not isinstance(value, bool) and value is not None:
        return kind
    text = json.dumps(value, default=str)
    masked = mask_text(text)
    return f"{kind} {clipped(masked) if masked == text else '(redacted: looks like a credential)'}"
