"""The Paperspace v1 contract: the published OpenAPI, transcribed per operation into tests/contract/openapi/.

Each file names its operation, method, path template and the line of `paperspace-v1-openapi.ts` it came from,
with JSON Schemas of the query, the request body and the 200 response. This module finds the operation of a
request, validates exchanges against it, and makes the smallest response the contract allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator, FormatChecker

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract" / "openapi"
API_PREFIX = "/v1"

FORMATS = FormatChecker(["uuid"])
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """Draft 2020-12 with the date-time, uuid and uri formats enforced."""
    return Draft202012Validator(schema, format_checker=FORMATS)


def problems(schema: dict[str, Any], instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in sorted(validator(schema).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    ]


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    source: str
    query: dict[str, Any] | None
    request: dict[str, Any] | None
    response: dict[str, Any]
    pattern: re.Pattern[str] = field(compare=False)

    def validate(self, part: str, instance: Any) -> list[str]:
        schema = {"query": self.query, "request": self.request, "response": self.response}[part]
        if schema is None:
            return [] if instance in (None, {}) else [f"{self.name}: the contract has no {part}, got {instance!r}"]
        return [f"{self.name} {part} at {problem}" for problem in problems(schema, instance)]


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for file in sorted(CONTRACT_DIR.glob("*.json")):
        data = json.loads(file.read_text())
        regex = _template(data["path"])
        found.append(
            Operation(
                data["operation"],
                data["method"],
                data["path"],
                data["source"],
                data["query"],
                data["request"],
                data["response"],
                re.compile(f"^{regex}$"),
            )
        )
    return tuple(found)


def _template(path: str) -> str:
    return "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in path.split("/"))


def operation_for(method: str, path: str) -> Operation | None:
    """The documented operation of a request (``path`` with or without the /v1 prefix)."""
    path = path.removeprefix(API_PREFIX)
    matches = [op for op in operations() if op.method == method and op.pattern.match(path)]
    assert len(matches) <= 1, f"{method} {path} matches several operations: {[op.name for op in matches]}"
    return matches[0] if matches else None


def by_name(name: str) -> Operation:
    return next(op for op in operations() if op.name == name)


# components.responses.error (paperspace-v1-openapi.ts:864-873): {code, message, details?}; `issues` is what
# Paperspace/cli's client.ts reads on validation errors ([{message}]); `path` is the emulator's addition.
ERROR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["code", "message"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "details": {"type": "object"},
        "issues": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["message"],
                "additionalProperties": False,
                "properties": {"message": {"type": "string"}, "path": {"type": "string"}},
            },
        },
    },
}


def typed_query(op: Operation, params: Mapping[str, str], *, documented_only: bool = False) -> dict[str, Any]:
    """The query as the schema types it: numbers are numbers (they travel as text). With ``documented_only``,
    parameters the contract does not name are left out (the API ignores them)."""
    properties = (op.query or {}).get("properties", {})
    query: dict[str, Any] = {}
    for key, value in params.items():
        if documented_only and key not in properties:
            continue
        kind = properties.get(key, {}).get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if ("number" in kinds or "integer" in kinds) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            query[key] = float(value) if "." in value else int(value)
        else:
            query[key] = value
    return query


@dataclass
class Exchange:
    method: str
    path: str
    operation: Operation | None
    query: dict[str, Any]
    body: Any
    status: int
    response: Any

    def problems(self) -> list[str]:
        where = f"{self.method} {self.path}"
        if self.operation is None:
            return [f"{where}: no contract entry (tests/contract/openapi) documents this endpoint"]
        op = self.operation
        found = op.validate("query", self.query) + op.validate("request", self.body)
        if 200 <= self.status < 300:
            found += op.validate("response", self.response)
        else:
            found += [f"{op.name} error body at {problem}" for problem in problems(ERROR_SCHEMA, self.response)]
        return [f"{where}: {problem}" for problem in found]


class RecordingTransport(httpx.BaseTransport):
    """The client's transport seam, wrapped: every exchange is kept, with the operation it belongs to."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        op = operation_for(request.method, request.url.path)
        body = json.loads(request.content) if request.content else None
        payload = json.loads(response.content) if response.content else None
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                op,
                typed_query(op, request.url.params) if op else dict(request.url.params),
                body,
                response.status_code,
                payload,
            )
        )
        return response

    def close(self) -> None:
        self.inner.close()


# -- the smallest documented response ----------------------------------------------------------------------


def minimal(schema: dict[str, Any], root: dict[str, Any], *, nulls: bool) -> Any:
    """An instance with only the required fields (and, with ``nulls``, every nullable optional field null)."""
    if "$ref" in schema:
        return minimal(_resolve(root, schema["$ref"]), root, nulls=nulls)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [option for option in schema[combinator] if option.get("type") != "null"]
            return minimal(options[-1] if options else {"type": "null"}, root, nulls=nulls)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    kind = next((k for k in kinds if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        result = {name: minimal(properties[name], root, nulls=nulls) for name in schema.get("required", [])}
        if nulls:
            for name, prop in properties.items():
                if name not in result and _nullable(prop, root):
                    result[name] = None
        return result
    if kind == "array":
        return []
    if kind == "string":
        return "2024-05-07T00:00:00.000Z" if schema.get("format") == "date-time" else "x"
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return False
    return None


def _nullable(schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return _nullable(_resolve(root, schema["$ref"]), root)
    kinds = schema.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        return True
    return any(option.get("type") == "null" for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)
