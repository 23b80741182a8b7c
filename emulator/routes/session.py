"""``GET /health`` and ``GET /auth/session``."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .common import reply, user_id

# The emulator's team and user never change: fixed dates keep the session reproducible.
_SINCE = "2024-01-01T00:00:00.000Z"


async def health(request: Request) -> JSONResponse:
    return reply("HEALTHY")


def _analytics_id(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def session_of(team: str) -> dict[str, Any]:
    """The auth-session body for a team: every field v1 requires, derived from the team (never the key)."""
    return {
        "team": {
            "analyticsId": _analytics_id(team),
            "id": team,
            "isPrivate": True,
            "maxMachines": 10,
            "namespace": team,
        },
        "user": {
            "analyticsId": _analytics_id(user_id(team)),
            "dtConfirmed": _SINCE,
            "dtCreated": _SINCE,
            "email": f"{team}@emulator.invalid",
            "firstName": "Emulator",
            "id": user_id(team),
            "isPasswordAuthEnabled": False,
            "isPhoneVerified": False,
            "isQrCodeBasedMfaConfirmed": False,
            "isQrCodeBasedMfaEnabled": False,
            "lastName": "User",
            "metadata": {},
            "teamMemberships": [
                {
                    "isAdmin": True,
                    "isOwner": True,
                    "team": {"dtCreated": _SINCE, "id": team, "isUserTeam": True, "name": team, "namespace": team},
                }
            ],
        },
    }


async def session(request: Request) -> JSONResponse:
    return reply(session_of(request.state.team))


routes = [
    Route("/v1/health", health, methods=["GET"]),
    Route("/v1/auth/session", session, methods=["GET"]),
]
