"""``GET /health`` and ``GET /auth/session``."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .common import reply


async def health(request: Request) -> JSONResponse:
    return reply("HEALTHY")


async def session(request: Request) -> JSONResponse:
    team: str = request.state.team
    # A stable user id per team; derived from the team, never from the key, so no key material leaks.
    user_id = "u" + hashlib.sha256(team.encode()).hexdigest()[:10]
    return reply(
        {
            "team": {"id": team, "namespace": team, "name": team, "isPrivate": True},
            "user": {"id": user_id, "email": f"{team}@emulator.invalid", "firstName": "Emulator", "lastName": "User"},
        }
    )


routes = [
    Route("/v1/health", health, methods=["GET"]),
    Route("/v1/auth/session", session, methods=["GET"]),
]
