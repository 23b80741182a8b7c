"""JSON Schema, as this project uses it: one validator (numbers that survive JSON and Pulumi's gRPC) and one
translator of its errors into messages a person reads. The stack loader and the providers' check both use it.

Validating with jsonschema is most of what `validate` costs on a large stack file, so the validator first
asks a compiled one (jsonschema-rs, when installed) whether the document is valid at all; only a document
it does not pass, or one it might read differently, goes through jsonschema, whose errors ``explain`` reads.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from .credentials import mask_text, name_says_secret
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
    return PrecheckedValidator(schema)


@functools.lru_cache(maxsize=64)
def compiled_check(schema_json: str) -> Callable[[Any], bool] | None:
    """jsonschema-rs's ``is_valid`` for a schema (as JSON text: compiling takes milliseconds, and the providers
    make a validator per check), or None where it is not installed or cannot compile the schema."""
    try:
        import jsonschema_rs
    except ImportError:  # an optional speed-up: jsonschema alone gives the same answers
        return None
    try:
        return jsonschema_rs.Draft202012Validator(json.loads(schema_json)).is_valid
    except ValueError:  # a schema it reads differently (a regular expression it lacks): jsonschema alone
        return None


def _plain_json(value: Any, depth: int = 0) -> bool:
    """Whether the compiled check reads ``value`` exactly as jsonschema does here: JSON types only (no tuple,
    no subclass), string keys, numbers that are finite and integers within MAX_SAFE_INTEGER (jsonschema-rs
    has no rule for those, so a value outside them goes to jsonschema)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if kind is float:
        return math.isfinite(value)
    if depth >= 64:
        return False
    if kind is dict:
        return all(type(key) is str and _plain_json(item, depth + 1) for key, item in value.items())
    if kind is list:
        return all(_plain_json(item, depth + 1) for item in value)
    return False


class PrecheckedValidator:
    """The finite-number Draft 2020-12 validator behind a compiled check of the same schema.

    A document the compiled check passes (and reads as jsonschema does, see ``_plain_json``) has no errors;
    any other goes through jsonschema, so every error, and every message ``explain`` makes of it, is
    jsonschema's. The compiled check may be stricter than jsonschema (its ``$`` does not match before a final
    line break): that costs only the time of asking jsonschema too, never an answer. Composition, as jsonschema
    asks, rather than a subclass of its validator."""

    META_SCHEMA: ClassVar[dict[Any, Any]] = FiniteValidator.META_SCHEMA
    VALIDATORS: ClassVar[dict[Any, Any]] = FiniteValidator.VALIDATORS
    TYPE_CHECKER: ClassVar[Any] = FiniteValidator.TYPE_CHECKER
    FORMAT_CHECKER: ClassVar[Any] = FiniteValidator.FORMAT_CHECKER

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema: bool | Mapping[str, Any] = schema
        self.format_checker = None
        self.explainer: Validator = FiniteValidator(schema)
        self.compiled = True  # False: jsonschema alone
        self._schema_json: str | None = None  # compiled on first use

    def _passes(self, instance: Any) -> bool:
        if not self.compiled or not _plain_json(instance):
            return False
        if self._schema_json is None:
            self._schema_json = json.dumps(self.schema, sort_keys=True)
        check = compiled_check(self._schema_json)
        return check is not None and check(instance)

    @classmethod
    def check_schema(cls, schema: dict[Any, Any]) -> None:
        FiniteValidator.check_schema(schema)

    def is_type(self, instance: Any, type: str) -> bool:
        return self.explainer.is_type(instance, type)

    def is_valid(self, instance: Any) -> bool:
        return self._passes(instance) or self.explainer.is_valid(instance)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self._passes(instance):
            return iter(())
        return self.explainer.iter_errors(instance)

    def validate(self, instance: Any) -> None:
        if not self._passes(instance):
            self.explainer.validate(instance)

    def evolve(self, **changes: Any) -> Validator:
        return self.explainer.evolve(**changes)


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
