"""The emulator's own mutable controls: fault injection, request statistics and per-key rate limits."""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("http500", "http503", "http429", "reset", "lost_response", "latency")


@dataclass
class FaultPlan:
    """Which requests fail and how; built from the body of ``POST /_emulator/faults``."""

    rate: float
    kinds: list[str]
    rng: random.Random
    latency_ms: int = 200
    retry_after_seconds: int = 1
    methods: set[str] | None = None
    routes: set[str] | None = None
    remaining: int | None = None  # how many more faults to inject; None: no bound
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FaultPlan:
        return cls(
            rate=float(body["rate"]),
            kinds=list(body["kinds"]),
            rng=random.Random(body.get("seed")),
            latency_ms=int(body.get("latencyMs", 200)),
            retry_after_seconds=int(body.get("retryAfterSeconds", 1)),
            methods=set(body["methods"]) if "methods" in body else None,
            routes=set(body["paths"]) if "paths" in body else None,
            remaining=body.get("count"),
            config=body,
        )

    def draw(self, method: str, route: str) -> str | None:
        if self.remaining == 0:
            return None
        if self.methods is not None and method not in self.methods:
            return None
        if self.routes is not None and route not in self.routes:
            return None
        if self.rng.random() >= self.rate:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        return self.rng.choice(self.kinds)


class RateLimiter:
    """At most ``per_second`` requests per key in any sliding one-second window."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, key: str) -> int | None:
        """None when the request may go ahead (and counts it); otherwise whole seconds to wait."""
        now = time.monotonic()
        window = self._seen[key]
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.per_second:
            return max(1, math.ceil(window[0] + 1.0 - now))
        window.append(now)
        return None


class Stats:
    """Request counts by method, route template and status. A dropped connection counts as status 0."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def record(self, method: str, route: str, status: int) -> None:
        self._counts[(method, route, status)] += 1

    def clear(self) -> None:
        self._counts.clear()

    def as_json(self) -> dict[str, Any]:
        rows = [
            {"method": method, "route": route, "status": status, "count": count}
            for (method, route, status), count in sorted(self._counts.items())
        ]
        return {
            "total": sum(self._counts.values()),
            "writes": sum(c for (m, _, _), c in self._counts.items() if m not in ("GET", "HEAD", "OPTIONS")),
            "byRoute": rows,
        }


@dataclass
class Control:
    stats: Stats = field(default_factory=Stats)
    faults: FaultPlan | None = None
    limiter: RateLimiter | None = None
