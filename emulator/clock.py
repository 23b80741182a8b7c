"""Timestamps as the v1 API renders them (ISO-8601, UTC, milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
