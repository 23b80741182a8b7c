"""The v1 contract (tests/contract/openapi/<operation>.json) as a checker of the emulator's answers.

Every client from :func:`checked_client` checks every answer it gets: a 200 against the response schema of
the operation its method and path belong to (and the documented query parameters it sent against the
operation's query schema), any other status against the error body. JSON Schema draft 2020-12, with the
``date-time``, ``uuid`` and ``uri`` formats enforced.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.contract import ERROR_SCHEMA, by_name, operations, problems, typed_query
from tests.support.contract import operation_for as _operation_for
from tests.support.emulator import DEV_KEY, EmulatorProcess

_recorders: list[set[str]] = []


def operation_for(method: str, path: str) -> str | None:
    """The operation a request is, from its method and its path under /v1 (None when none matches)."""
    found = _operation_for(method, path)
    return found.name if found else None


def validate_response(name: str, body: Any) -> None:
    found = problems(by_name(name).response, body)
    assert not found, f"{name} response breaks the contract:\n  " + "\n  ".join(found)
    for recorder in _recorders:
        recorder.add(name)


def documented_query(name: str) -> set[str]:
    query = by_name(name).query
    return set(query["properties"]) if query else set()


def validate_query(name: str, params: Mapping[str, str]) -> None:
    """The documented parameters of a query, typed as the schema says (the emulator ignores the others, and
    tests say so where it matters)."""
    op = by_name(name)
    if op.query:
        found = problems(op.query, typed_query(op, params, documented_only=True))
        assert not found, f"{name} query breaks the contract:\n  " + "\n  ".join(found)


def validate_error(body: Any) -> None:
    found = problems(ERROR_SCHEMA, body)
    assert not found, "error body breaks the contract:\n  " + "\n  ".join(found)


def check(response: httpx.Response) -> None:
    """Check one answer of the emulator's /v1 API against the contract."""
    response.read()
    path = response.request.url.path
    if not path.startswith("/v1/"):
        return
    path = path.removeprefix("/v1")
    if response.status_code != 200:
        validate_error(response.json())
        return
    if path == "/health":
        return  # not in the transcribed contract
    name = operation_for(response.request.method, path)
    assert name is not None, f"{response.request.method} {path} answered 200 but is no v1 operation"
    validate_query(name, dict(response.request.url.params))
    validate_response(name, response.json())


def checked_client(emulator: EmulatorProcess, key: str | None = DEV_KEY) -> httpx.Client:
    """A client of the emulator whose every answer is checked against the contract."""
    return emulator.client(key, event_hooks={"response": [check]})


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the names of the operations whose 200 answers were validated inside the block."""
    seen: set[str] = set()
    _recorders.append(seen)
    try:
        yield seen
    finally:
        _recorders.remove(seen)


def all_operations() -> set[str]:
    return {op.name for op in operations()}
