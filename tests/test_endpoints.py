"""One model behind several endpoints: requests spread by fewest in flight, a dead endpoint is
rested and its share moves to the others, and every request is still answered exactly once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from culturalign.cli.present import endpoints_table
from culturalign.engine import Request, run_requests
from culturalign.errors import BackendError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.endpoints import EndpointPool
from culturalign.models.registry import get_backend
from culturalign.store import RunStore
from culturalign.store.stats import endpoint_summary

STUB = Path(__file__).resolve().parent / "servers" / "faulty.py"


def _start_stub(latency_s: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, str(STUB), "--latency", str(latency_s)], stdout=subprocess.PIPE, text=True
    )
    return process, json.loads(process.stdout.readline())["base_url"]


def _answers(base_url: str) -> dict[str, list[int]]:
    with urllib.request.urlopen(base_url.rsplit("/v1", 1)[0] + "/_stats", timeout=10) as response:
        return json.load(response)["answers"]


def _requests(urls: list[str], n: int) -> list[Request]:
    spec = ModelSpec(
        name="fleet",
        backend="openai",
        model="stub",
        base_url=urls,
        max_concurrency=4,
        timeout_s=5,
        max_retries=8,
        options={"retry_base_s": 0.01, "retry_cap_s": 0.05},
    )
    return [
        Request(spec, (ChatMessage(role="user", content=f"fleet request {i:04d}"),), GenerateConfig(max_tokens=8))
        for i in range(n)
    ]


def test_three_endpoints_one_killed_midway_every_request_answered_once(tmp_path) -> None:
    stubs = [_start_stub(0.02) for _ in range(3)]
    urls = [url for _, url in stubs]
    try:

        def kill_second_when_busy() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(map(len, _answers(urls[0]).values())) < 40:
                time.sleep(0.02)
            stubs[1][0].kill()

        killer = threading.Thread(target=kill_second_when_busy)
        killer.start()
        with RunStore(tmp_path / "s.sqlite") as store:
            run_id = store.start_run("fleet", "test", {})
            counts = run_requests(store, run_id, "generate", _requests(urls, 400), show_progress=False)
            killer.join()
            spread = endpoint_summary(store, run_id)
            answered = store.conn.execute("SELECT COUNT(*) FROM calls WHERE response IS NOT NULL").fetchone()[0]
            assert endpoints_table(endpoint_summary(store, run_id)) is not None
        survivors = [_answers(urls[0]), _answers(urls[2])]
    finally:
        for process, _ in stubs:
            process.kill()
            process.wait()
    assert counts["answered"] == 400 and counts["failed"] == 0 and answered == 400
    by_endpoint = {row["endpoint"]: row for row in spread.iter_rows(named=True)}
    dead = by_endpoint[urls[1]]
    assert dead["failed_attempts"] >= 1 and dead["rests"] >= 1
    assert set(dead["failed_by_reason"].replace(",", " ").split()) & {"connection", "timeout"}
    live = [by_endpoint[urls[0]]["answered"], by_endpoint[urls[2]]["answered"]]
    assert min(live) > dead["answered"]  # the share moved to the live endpoints
    # Exactly once: the live servers answered each request at most once, and what they and the
    # dead server (before it died) answered adds up to the 400 stored answers.
    for answers in survivors:
        assert all(len(ids) == 1 for ids in answers.values())
    assert sum(len(a) for a in survivors) + dead["answered"] == 400


def test_requests_go_to_the_endpoint_with_fewest_in_flight_within_its_limit() -> None:
    async def scenario() -> list[str | None]:
        pool = EndpointPool(["a", "b", "c"], per_endpoint=2)
        taken = [await pool.acquire() for _ in range(6)]
        assert sorted(e.url for e in taken) == ["a", "a", "b", "b", "c", "c"]
        blocked = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.05)
        assert not blocked.done()  # every endpoint at its limit
        await pool.release(taken[3], ok=True)
        endpoint = await asyncio.wait_for(blocked, 1)
        return [endpoint.url, taken[3].url]

    first, freed = asyncio.run(scenario())
    assert first == freed


def test_an_endpoint_that_keeps_failing_rests_then_comes_back() -> None:
    async def scenario() -> tuple[bool, str | None]:
        pool = EndpointPool(["a", "b"], per_endpoint=1)
        bad = pool.endpoints[0]
        for _ in range(3):
            endpoint = await pool.acquire()
            assert endpoint.url == "a" or endpoint is pool.endpoints[1]
            await pool.release(
                bad if endpoint is bad else endpoint,
                ok=endpoint is not bad,
                reason="connection: refused",
                transport=True,
            )
        resting = bad.resting(time.monotonic())
        bad.resting_until = time.monotonic() - 1  # the rest is over
        return resting, (await pool.acquire()).url

    resting, picked = asyncio.run(scenario())
    assert resting and picked == "a"


def test_no_reachable_endpoint_is_one_line_before_the_run() -> None:
    closed = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]
    backend = get_backend(_requests(closed, 1)[0].model)

    async def check() -> None:
        try:
            await backend.check()
        finally:
            await backend.aclose()

    with pytest.raises(BackendError, match="cannot reach any of its 2 endpoints"):
        asyncio.run(check())


def test_a_repeated_or_empty_endpoint_list_is_refused() -> None:
    with pytest.raises(ValueError, match="more than once"):
        ModelSpec(name="m", backend="openai", base_url=["http://x/v1", "http://x/v1"])
    with pytest.raises(ValueError, match="empty list"):
        ModelSpec(name="m", backend="openai", base_url=[])
