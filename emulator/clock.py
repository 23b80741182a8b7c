"""The emulator's clock, and timestamps as the v1 API renders them (ISO-8601, UTC, milliseconds)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

# The clock never moves past this (3000-01-01): every timestamp, durations of a million seconds included,
# stays one `iso` can render (datetime ends at 9999).
LATEST = datetime(3000, 1, 1, tzinfo=UTC).timestamp()


class Clock:
    """Wall-clock time plus an offset that tests move forward (``POST /_emulator/clock``), so readiness, run
    lifecycles and timeouts can be observed without waiting. Every lifecycle is derived from stored timestamps
    and this clock, so restarts are safe; the offset itself is not stored (a restart returns to real time)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
