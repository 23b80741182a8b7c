"""``/_emulator``: faults, statistics and reset. No auth; the gate admits loopback callers only."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..clock import LATEST, Clock, iso
from ..control import Control, FaultPlan
from ..errors import Issue, bad_request
from ..store import Store
from ..validation import require_valid
from .common import json_object, reply


def _control(request: Request) -> Control:
    control: Control = request.app.state.control
    return control


async def set_faults(request: Request) -> JSONResponse:
    body = await json_object(request)
    require_valid("fault-config", body, "fault configuration")
    _control(request).faults = FaultPlan.from_body(body)
    return reply({"faults": body})


async def get_faults(request: Request) -> JSONResponse:
    plan = _control(request).faults
    return reply({"faults": plan.config if plan else None, "remaining": plan.remaining if plan else None})


async def clear_faults(request: Request) -> JSONResponse:
    _control(request).faults = None
    return reply({"faults": None})


async def stats(request: Request) -> JSONResponse:
    store: Store = request.app.state.store
    body = _control(request).stats.as_json()
    objects: dict[str, Counter[str]] = {}
    for team in {r.team for kind in _KINDS for r in store.find(kind, None)}:
        objects[team] = Counter({kind: len(store.find(kind, team)) for kind in _KINDS})
        objects[team] = +objects[team]  # drop zero counts
    body["objects"] = {team: dict(counts) for team, counts in sorted(objects.items())}
    return reply(body)


async def reset(request: Request) -> JSONResponse:
    store: Store = request.app.state.store
    store.wipe()
    control = _control(request)
    control.stats.clear()
    control.faults = None
    _clock(request).reset()
    return reply({"reset": True})


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_clock(request: Request) -> JSONResponse:
    return reply({"now": iso(_clock(request).now())})


async def advance_clock(request: Request) -> JSONResponse:
    """Move the clock forward: every run, deployment and timeout sees the time pass at once."""
    body = await json_object(request)
    seconds = body.get("advanceSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10 * 365 * 86400:
        raise bad_request(
            "invalid clock change", [Issue("advanceSeconds", "must be a number of seconds from 0 to ten years")]
        )
    clock = _clock(request)
    if clock.now() + seconds > LATEST:
        raise bad_request("invalid clock change", [Issue("advanceSeconds", "the clock cannot pass the year 3000")])
    return reply({"now": iso(clock.advance(float(seconds)))})


_KINDS = ("project", "deployment", "spec", "workflow", "run", "model", "secret", "tag", "dataset", "datasetVersion")

routes = [
    Route("/_emulator/faults", set_faults, methods=["POST"]),
    Route("/_emulator/faults", get_faults, methods=["GET"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/clock", get_clock, methods=["GET"]),
    Route("/_emulator/clock", advance_clock, methods=["POST"]),
]
