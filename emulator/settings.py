"""Run-time settings of one emulator process (from the command line)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_KEY = "emulator-dev-key"
DEFAULT_TEAM = "team-dev"


@dataclass(frozen=True)
class Settings:
    # API key -> team id. Keys are secrets: nothing in the emulator prints or returns them.
    api_keys: dict[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: DEFAULT_TEAM})
    # Multiplies every simulated duration, so tests can run lifecycles in a fraction of real time.
    time_scale: float = 1.0
    # Requests per second per key; None means unlimited.
    rate_limit: int | None = None
