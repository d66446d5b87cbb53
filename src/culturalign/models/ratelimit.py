"""Requests-per-minute and tokens-per-minute limits for one model, as async token buckets.

A bucket refills continuously at `per_minute / 60` units per second and holds at most
`burst_s` seconds' worth. A request takes its units when the bucket is not in debt; it may
drive the level below zero (a request larger than the burst must still be able to go), and
the next request then waits until the debt is repaid. Over any long window the spent units
therefore never exceed the configured rate plus one burst.

Clock and sleep are injectable so that the schedule can be tested without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from culturalign.models.base import ChatMessage, GenerateConfig

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Without a tokenizer at hand, about four characters per token is the usual rule of thumb
# for English; it is used only to pace requests and to estimate a run's size beforehand.
CHARS_PER_TOKEN = 4.0
# Output budget assumed when a request sets no max_tokens.
DEFAULT_OUTPUT_TOKENS = 512


def approx_tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN)) if text else 0


def estimate_request_tokens(messages: Sequence[ChatMessage], config: GenerateConfig) -> int:
    """Input tokens (approximate) plus the output budget of one request."""
    prompt = sum(approx_tokens(m.content) for m in messages)
    return prompt + (config.max_tokens or DEFAULT_OUTPUT_TOKENS)


class TokenBucket:
    def __init__(
        self,
        per_minute: float,
        *,
        burst_s: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate_per_s = per_minute / 60.0
        # At least one unit of capacity, so that a rate below 60/min still lets a request through.
        self.capacity = max(1.0, self.rate_per_s * burst_s)
        self.level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock: asyncio.Lock | None = None

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate_per_s)
        self._updated = now

    async def take(self, amount: float = 1.0) -> float:
        """Wait until the bucket is out of debt, then spend `amount`. Returns the seconds waited."""
        if self._lock is None:
            # Created lazily: the lock belongs to the event loop that first uses it.
            self._lock = asyncio.Lock()
        waited = 0.0
        async with self._lock:  # first come, first served
            self._refill()
            needed = min(amount, self.capacity)
            while self.level < needed:
                pause = (needed - self.level) / self.rate_per_s
                await self._sleep(pause)
                waited += pause
                self._refill()
            self.level -= amount
        return waited

    def refund(self, amount: float) -> None:
        """Give back units taken on an estimate that turned out too high (or take more when negative)."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """The per-model limits: a request bucket and a token bucket, either optional."""

    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.requests = TokenBucket(requests_per_minute, clock=clock, sleep=sleep) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, clock=clock, sleep=sleep) if tokens_per_minute else None

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    async def acquire(self, estimated_tokens: int) -> float:
        """Wait for permission to send one request of about `estimated_tokens` (input plus output)."""
        waited = 0.0
        if self.requests is not None:
            waited += await self.requests.take(1.0)
        if self.tokens is not None:
            waited += await self.tokens.take(float(max(1, estimated_tokens)))
        return waited

    def settle(self, estimated_tokens: int, actual_tokens: int | None) -> None:
        """Correct the token bucket once the server has reported what the request really used."""
        if self.tokens is not None and actual_tokens is not None:
            self.tokens.refund(float(max(1, estimated_tokens) - actual_tokens))
