"""What every handler needs: the store, the settings, the caller's team and a parsed JSON body."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..body import parse_json
from ..errors import Issue, bad_request, not_found
from ..settings import Settings
from ..store import Record, Store


@dataclass(frozen=True)
class Context:
    store: Store
    settings: Settings
    team: str
    now: float

    def get(self, kind: str, ident: str, label: str) -> Record:
        record = self.store.get(kind, self.team, ident)
        if record is None:
            raise not_found(label, ident)
        return record


def context(request: Request) -> Context:
    # The gate (emulator.gate) authenticated the key and put its team in the request state.
    return Context(
        request.app.state.store, request.app.state.settings, request.state.team, request.app.state.clock.now()
    )


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, checked at the door (emulator.body)."""
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def required_string(body: dict[str, Any], key: str, issues: list[Issue], max_length: int = 256) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        issues.append(Issue(key, "is required and must be a non-empty string"))
        return ""
    if len(value) > max_length:
        issues.append(Issue(key, f"must be at most {max_length} characters"))
    return value


def unknown_fields(body: dict[str, Any], allowed: set[str], issues: list[Issue]) -> None:
    for key in sorted(set(body) - allowed):
        issues.append(Issue(key, "unknown field"))


def raise_if(issues: list[Issue], what: str) -> None:
    if issues:
        raise bad_request(f"invalid {what}: {len(issues)} problem(s)", issues)


def reply(body: Any) -> JSONResponse:
    return JSONResponse(body)


def user_id(team: str) -> str:
    """A stable user id per team; derived from the team, never from the key, so no key material leaks."""
    return "u" + hashlib.sha256(team.encode()).hexdigest()[:10]
