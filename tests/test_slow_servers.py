"""Slow local servers: a timed-out request is not sent again unless allowed, the wait adapts to
the endpoint, and the progress bar gives an ETA when answers are minutes apart."""

from __future__ import annotations

import asyncio

import pytest
from rich.progress import Progress

from culturalign.engine.progress import EtaColumn, RateColumn
from culturalign.models import timeouts
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.registry import get_backend
from servers.faulty import FaultPlan, FaultyServer


def _spec(base_url: str, **update: object) -> ModelSpec:
    fields = {"name": "slow", "backend": "openai", "model": "slow", "base_url": base_url, "timeout_s": 0.5}
    fields |= {"max_retries": 3, "options": {"retry_base_s": 0.01, "retry_cap_s": 0.05}, **update}
    return ModelSpec(**fields)


def _ask(spec: ModelSpec, text: str):
    async def go():
        backend = get_backend(spec)
        try:
            return await backend.generate([ChatMessage(role="user", content=text)], GenerateConfig())
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_a_timed_out_request_is_not_sent_again_while_the_server_may_still_compute_it():
    with FaultyServer(FaultPlan(kinds=("stall",), fail_first=1, stall_s=1.2)) as server:
        out = _ask(_spec(server.base_url), "a long question")
        attempts = server.stats.attempts["a long question"]
    assert attempts == 1 and not out.ok and out.retries == 0
    assert out.error.startswith("timeout: no answer within 0.5 s; not asked again")
    assert "resend_on_timeout" in out.error


def test_resending_after_a_timeout_when_the_user_allows_it():
    with FaultyServer(FaultPlan(kinds=("stall",), fail_first=1, stall_s=1.2)) as server:
        out = _ask(_spec(server.base_url, resend_on_timeout=True), "a long question")
        attempts = server.stats.attempts["a long question"]
    assert out.ok and out.retries == 1 and attempts == 2


@pytest.mark.parametrize(
    ("base_url", "local"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://gpu-box.local:8000/v1", True),
        ("http://vllm:8000/v1", True),  # a bare name: a container or LAN host
        ("https://api.example.com/v1", False),
        ("http://8.8.8.8/v1", False),
        (None, False),  # the hosted OpenAI API
    ],
)
def test_which_servers_count_as_local(base_url, local):
    assert timeouts.is_local(base_url) is local


def test_the_default_wait_adapts_to_the_endpoint(monkeypatch):
    monkeypatch.setattr(timeouts, "_observed", {})
    remote = ModelSpec(name="r", backend="openai", model="m", base_url="https://api.example.com/v1")
    assert timeouts.timeout_for(remote) == timeouts.FIRST_ANSWER_S  # nothing seen yet: generous
    for seconds in (0.5, 2.0, 1.0):
        timeouts.observe(remote, seconds)
    assert timeouts.timeout_for(remote) == timeouts.FLOOR_S  # 10 x 2 s is below the floor
    timeouts.observe(remote, 30.0)
    assert timeouts.timeout_for(remote) == 300.0  # ten times the slowest recent answer
    assert timeouts.timeout_for(remote.model_copy(update={"timeout_s": 7.0})) == 7.0  # the user's value wins
    local = remote.model_copy(update={"base_url": "http://127.0.0.1:8080/v1"})
    timeouts.observe(local, 1.0)
    assert timeouts.timeout_for(local) is None  # a local server is waited for as long as it takes
    replicas = ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]
    assert timeouts.timeout_for(remote.model_copy(update={"base_url": replicas})) is None
    mixed = remote.model_copy(update={"base_url": [replicas[0], "https://api.example.com/v1"]})
    assert timeouts.timeout_for(mixed) == timeouts.FIRST_ANSWER_S  # one remote endpoint: a bounded wait


def test_a_local_server_without_timeout_gets_no_limit_on_the_request():
    with FaultyServer(FaultPlan(kinds=("slow",), fail_first=1, slow_s=0.3)) as server:
        spec = _spec(server.base_url, timeout_s=None)
        backend = get_backend(spec)
        assert backend.client.timeout is None
        out = _ask(spec, "take your time")
    assert out.ok and out.retries == 0


def test_eta_when_answers_are_minutes_apart():
    now = [0.0]
    progress = Progress(RateColumn(), EtaColumn(), get_time=lambda: now[0], disable=True)
    task_id = progress.add_task("generate", total=10, completed=2, start_done=2)
    task = progress.tasks[0]
    assert EtaColumn().render(task).plain == "ETA: waiting for the first answer"
    for _ in range(2):  # one answer every five minutes
        now[0] += 300.0
        progress.update(task_id, advance=1)
    # 2 answers in 600 s, 6 to go: 30 minutes, though no answer came in the last 30 seconds
    assert EtaColumn().render(task).plain == "ETA 0:30:00"
    assert RateColumn().render(task).plain == "0.2/min"
