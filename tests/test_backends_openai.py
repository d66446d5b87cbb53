"""The openai backend against the fault-injecting server on 127.0.0.1: answers, retries,
Retry-After, the retry budget, structured-output fallback, keys and unreachable servers."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from culturalign.errors import BackendError
from culturalign.models import openai_backend
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.registry import get_backend
from servers.faulty import FaultPlan, FaultyServer

SCHEMA = {"type": "object", "properties": {"answer_id": {"type": "integer"}}, "required": ["answer_id"]}


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[FaultyServer]:
    plan = getattr(request, "param", None) or FaultPlan()
    with FaultyServer(plan) as running:
        yield running


def _spec(base_url: str, **update: object) -> ModelSpec:
    fields = {
        "name": "stub",
        "backend": "openai",
        "model": "stub",
        "base_url": base_url,
        "timeout_s": 0.8,
        "max_retries": 3,
        "options": {"retry_base_s": 0.01, "retry_cap_s": 0.05},
    }
    fields.update(update)
    return ModelSpec(**fields)


def _ask(spec: ModelSpec, text: str, config: GenerateConfig | None = None, backend=None):
    async def go():
        nonlocal backend
        backend = backend or get_backend(spec)
        try:
            return await backend.generate([ChatMessage(role="user", content=text)], config or GenerateConfig())
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_chat_answer_with_usage(server: FaultyServer) -> None:
    out = _ask(_spec(server.base_url), "hello there", GenerateConfig(max_tokens=5, temperature=0.0))
    assert out.ok and out.text.startswith("answer 1: hello there")
    assert out.input_tokens and out.output_tokens and out.retries == 0
    assert server.stats.attempts["hello there"] == 1


def test_completion_style_uses_completions_endpoint(server: FaultyServer) -> None:
    out = _ask(_spec(server.base_url, prompt_style="completion"), "a base model prompt")
    assert out.ok
    # render_completion_prompt ends the prompt with a blank line, which the server echoes back.
    assert server.stats.attempts["a base model prompt\n\n"] == 1


_NEEDS_AIOHTTP = pytest.mark.skipif(importlib.util.find_spec("aiohttp") is None, reason="aiohttp is not installed")
TRANSPORTS = [
    "httpx",
    pytest.param("aiohttp", marks=_NEEDS_AIOHTTP),
    pytest.param("direct", marks=_NEEDS_AIOHTTP),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "slow", "cut", "malformed", "stall"])
def test_each_fault_is_retried_until_answered(kind: str, transport: str) -> None:
    plan = FaultPlan(kinds=(kind,), fail_first=1, stall_s=1.2, slow_s=0.1)
    with FaultyServer(plan) as server:
        options = {"retry_base_s": 0.01, "retry_cap_s": 0.05, "http_client": transport}
        out = _ask(_spec(server.base_url, options=options), f"question for {kind}")
        attempts = server.stats.attempts[f"question for {kind}"]
    assert out.ok, out.error
    if kind == "slow":  # a slow answer inside the timeout is an answer, not a fault
        assert out.retries == 0 and attempts == 1
    else:
        assert out.retries == 1 and attempts == 2


def test_retry_budget_exhausted_returns_reason(server: FaultyServer) -> None:
    out = _ask(_spec(server.base_url, max_retries=2), "ALWAYS-FAIL please")
    assert not out.ok and out.error.startswith("server_error: http 500")
    assert "gave up after 2 retries" in out.error
    assert out.retries == 2 and server.stats.attempts["ALWAYS-FAIL please"] == 3


def test_retry_after_is_a_floor_for_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float, *args: object) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(openai_backend.asyncio, "sleep", recording_sleep)
    with FaultyServer(FaultPlan(kinds=("rate_limit",), fail_first=2, retry_after="7")) as server:
        out = _ask(_spec(server.base_url, options={"retry_base_s": 0.01, "retry_cap_s": 0.02}), "limited")
    assert out.ok and out.retries == 2
    # Jitter alone would have waited at most 0.02 s (shorter sleeps are the HTTP client's own).
    assert [w for w in waits if w > 0.02] == [7.0, 7.0]


def test_unknown_model_is_not_retried(server: FaultyServer) -> None:
    out = _ask(_spec(server.base_url, model="no-such-model"), "hi")
    assert out.error.startswith("rejected: http 404") and out.retries == 0


def test_json_schema_falls_back_once_and_remembers() -> None:
    with FaultyServer(FaultPlan(reject_json_schema=True)) as server:
        spec = _spec(server.base_url)

        async def go():
            backend = get_backend(spec)
            config = GenerateConfig(json_schema=SCHEMA)
            outs = [await backend.generate([ChatMessage(role="user", content=f"q{i}")], config) for i in range(3)]
            await backend.aclose()
            return backend, outs

        backend, outs = asyncio.run(go())
    assert all(o.ok and o.retries == 0 for o in outs)
    assert backend.json_level == "json_object_schema"
    assert server.stats.faults["json_schema_rejected"] == 1  # asked with the schema only once
    assert get_backend(spec).json_level == "json_object_schema"  # the next stage's backend knows it too


def test_missing_key_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CULTURALIGN_TEST_KEY", raising=False)
    spec = _spec("http://127.0.0.1:9/v1", api_key_env="CULTURALIGN_TEST_KEY")
    with pytest.raises(BackendError, match="CULTURALIGN_TEST_KEY"):
        get_backend(spec)
    monkeypatch.setenv("CULTURALIGN_TEST_KEY", "sk-test")
    assert get_backend(spec)._api_key == "sk-test"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_check_fails_for_an_unreachable_server_and_passes_for_a_live_one(server: FaultyServer, transport: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    options = {"http_client": transport}
    dead = get_backend(_spec(f"http://127.0.0.1:{closed_port}/v1", options=options))
    with pytest.raises(BackendError, match="cannot reach"):
        asyncio.run(dead.check())
    asyncio.run(get_backend(_spec(server.base_url, options=options)).check())


def test_retry_timing_options_do_not_change_the_store_key() -> None:
    from culturalign.store.keys import request_key

    messages = [ChatMessage(role="user", content="x")]
    plain = _spec("http://127.0.0.1:9/v1", options={})
    tuned = _spec("http://127.0.0.1:9/v1", options={"retry_base_s": 2.0, "retry_cap_s": 60})
    assert request_key(plain, messages, GenerateConfig(), 0) == request_key(tuned, messages, GenerateConfig(), 0)


def test_rate_limits_are_applied_per_backend(server: FaultyServer) -> None:
    spec = _spec(server.base_url, requests_per_minute=6000, tokens_per_minute=100_000)
    backend = get_backend(spec)
    assert backend.limiter.active and backend.limiter.requests and backend.limiter.tokens
    calls: list[tuple] = []
    acquire, settle = backend.limiter.acquire, backend.limiter.settle

    async def recording_acquire(estimated: int) -> float:
        calls.append(("acquire", estimated))
        return await acquire(estimated)

    def recording_settle(estimated: int, actual: int | None) -> None:
        calls.append(("settle", estimated, actual))
        settle(estimated, actual)

    backend.limiter.acquire, backend.limiter.settle = recording_acquire, recording_settle
    out = _ask(spec, "limited by rate", GenerateConfig(max_tokens=50), backend=backend)
    assert out.ok
    # charged with the estimate (4 prompt tokens + 50 output), then settled with the reported usage
    assert calls == [("acquire", 54), ("settle", 54, out.input_tokens + out.output_tokens)]


def test_unknown_transport_is_a_one_line_error() -> None:
    # The typed options (models/options.py) refuse it when the spec is read, before any backend exists.
    with pytest.raises(ValidationError, match="openai option 'http_client'.*'auto', 'direct', 'aiohttp' or 'httpx'"):
        _spec("http://127.0.0.1:9/v1", options={"http_client": "curl"})
