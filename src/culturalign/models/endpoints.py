"""Several endpoints serving one model (e.g. vLLM replicas): which one gets the next request.

Each request goes to the endpoint with the fewest requests in flight, never more than
`per_endpoint` at once on any of them. An endpoint whose transport keeps failing (refused
connections, timeouts, 5xx) is rested: taken out for a backoff that doubles with each
rest, and put back when the rest is over; the first request it answers clears its record.
When every endpoint is resting, the one whose rest ends first is tried, so a fleet that
comes back is used again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FAILURES_BEFORE_REST = 3
REST_BASE_S = 1.0
REST_CAP_S = 60.0


@dataclass
class Endpoint:
    url: str | None
    client: Any = None  # the SDK client for this endpoint, made by the backend on first use
    direct: Any = None  # the plain HTTP client (models/direct_http.py), likewise
    in_flight: int = 0
    answered: int = 0
    failed: int = 0
    consecutive_failures: int = 0
    rests: int = 0
    resting_until: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    def resting(self, now: float) -> bool:
        return self.resting_until > now


class EndpointPool:
    def __init__(self, urls: list[str | None], per_endpoint: int) -> None:
        self.endpoints = [Endpoint(url) for url in urls]
        self.per_endpoint = per_endpoint
        self._freed: asyncio.Condition | None = None

    @property
    def capacity(self) -> int:
        """Requests the pool takes at once: the runner's concurrency for this model."""
        return self.per_endpoint * len(self.endpoints)

    def _condition(self) -> asyncio.Condition:
        if self._freed is None:  # created inside the event loop that uses it
            self._freed = asyncio.Condition()
        return self._freed

    def _pick(self) -> Endpoint | None:
        now = time.monotonic()
        free = [e for e in self.endpoints if e.in_flight < self.per_endpoint]
        if not free:
            return None
        awake = [e for e in free if not e.resting(now)]
        if awake:
            return min(awake, key=lambda e: e.in_flight)
        everyone_resting = all(e.resting(now) for e in self.endpoints)
        if everyone_resting:
            soonest = min(self.endpoints, key=lambda e: e.resting_until)
            return soonest if soonest in free else None
        return None

    async def acquire(self) -> Endpoint:
        freed = self._condition()
        async with freed:
            while True:
                endpoint = self._pick()
                if endpoint is not None:
                    endpoint.in_flight += 1
                    return endpoint
                # Woken by a release, or after a short while to notice that a rest has ended.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(freed.wait(), timeout=0.25)

    async def release(
        self, endpoint: Endpoint, *, ok: bool, reason: str | None = None, transport: bool = False
    ) -> None:
        """Record one attempt's outcome. `transport`: the failure says the endpoint is unwell
        (not, say, a rejected request), so it counts towards resting it."""
        endpoint.in_flight -= 1
        if ok:
            endpoint.answered += 1
            endpoint.consecutive_failures = 0
        else:
            endpoint.failed += 1
            if reason:
                endpoint.reasons[reason.split(":")[0]] += 1
            if transport:
                endpoint.consecutive_failures += 1
                if endpoint.consecutive_failures >= FAILURES_BEFORE_REST and len(self.endpoints) > 1:
                    rest = min(REST_CAP_S, REST_BASE_S * 2**endpoint.rests)
                    endpoint.rests += 1
                    endpoint.consecutive_failures = 0
                    endpoint.resting_until = time.monotonic() + rest
        freed = self._condition()
        async with freed:
            freed.notify_all()

    def stats(self) -> list[dict[str, Any]]:
        """Per-endpoint counts for the run summary."""
        return [
            {
                "endpoint": e.url or "default",
                "answered": e.answered,
                "failed_attempts": e.failed,
                "rests": e.rests,
                "reasons": dict(e.reasons),
            }
            for e in self.endpoints
        ]
