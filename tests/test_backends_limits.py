"""Backoff schedule, Retry-After parsing and the per-model rate limiter (on a fake clock)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from culturalign.models.base import ChatMessage, GenerateConfig
from culturalign.models.ratelimit import RateLimiter, TokenBucket, approx_tokens, estimate_request_tokens
from culturalign.models.retry import RetryPolicy, parse_retry_after


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=4.0, rng=random.Random(1))
    for retry_number, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        delays = [policy.delay(retry_number) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # full jitter spreads over the whole range


def test_retry_after_is_never_undercut() -> None:
    policy = RetryPolicy(base_s=0.1, cap_s=0.2, rng=random.Random(2))
    assert all(policy.delay(0, retry_after_s=3.0) == 3.0 for _ in range(20))


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now.timestamp()) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None and parse_retry_after(None) is None


def test_request_bucket_paces_to_the_configured_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(120, clock=clock, sleep=clock.sleep)  # 2 per second, burst of 2

    async def take_many() -> None:
        for _ in range(10):
            await bucket.take()

    asyncio.run(take_many())
    # the first two go at once (the burst), the other eight wait half a second each
    assert clock.now == pytest.approx(4.0)


def test_big_request_goes_through_and_the_next_one_repays_the_debt() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock, sleep=clock.sleep)  # 10 tokens/s, capacity 10

    async def run() -> None:
        assert await bucket.take(50) == 0.0  # larger than the burst: allowed, leaves a debt of 40
        await bucket.take(5)  # waits until the bucket holds 5 again: (40 + 5) / 10 s

    asyncio.run(run())
    assert clock.now == pytest.approx(4.5)


def test_limiter_settles_tokens_with_the_reported_usage() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 600, clock=clock, sleep=clock.sleep)

    async def run() -> None:
        await limiter.acquire(10)
        limiter.settle(10, 2)  # used only 2: 8 come back
        await limiter.acquire(8)

    asyncio.run(run())
    assert clock.now == 0.0 and clock.sleeps == []
    assert not RateLimiter(None, None).active


def test_token_estimate_counts_prompt_and_output_budget() -> None:
    messages = [ChatMessage(role="system", content="x" * 40), ChatMessage(role="user", content="y" * 80)]
    assert approx_tokens("") == 0 and approx_tokens("abc") == 1
    assert estimate_request_tokens(messages, GenerateConfig(max_tokens=100)) == 10 + 20 + 100
