"""A few hundred requests through the fault-injecting server: the run completes, every
answer the server gave is stored exactly once, failures past the retry budget are stored
with their reason, and a rerun asks only for what failed."""

from __future__ import annotations

import re

from culturalign.engine import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.store import RunStore
from servers.faulty import FaultPlan, FaultyServer

KNOWN_REASONS = ("rate_limited", "server_error", "timeout", "connection", "malformed_response")


def _requests(base_url: str, n: int, doomed: int) -> list[Request]:
    spec = ModelSpec(
        name="stub",
        backend="openai",
        model="stub",
        base_url=base_url,
        max_concurrency=16,
        timeout_s=2.0,
        resend_on_timeout=True,  # stalls are retried here, to test the retry budget
        max_retries=4,
        options={"retry_base_s": 0.01, "retry_cap_s": 0.1},
    )
    texts = [f"request {i:04d}" for i in range(n)] + [f"request ALWAYS-FAIL {i}" for i in range(doomed)]
    return [
        Request(spec, (ChatMessage(role="user", content=t),), GenerateConfig(max_tokens=16), 0, {"text": t})
        for t in texts
    ]


def test_faulty_server_run_is_complete_and_exactly_once(tmp_path) -> None:
    plan = FaultPlan(fault_rate=0.3, stall_s=2.5, slow_s=0.1, latency_s=0.005, seed=7)
    with FaultyServer(plan) as server:
        requests = _requests(server.base_url, 300, doomed=5)
        store = RunStore(tmp_path / "s.sqlite")
        run_id = store.start_run("faults", "test", {})
        counts = run_requests(store, run_id, "generate", requests, show_progress=False)
        stats = server.stats
        assert set(stats.faults) >= {"rate_limit", "server_error", "slow", "cut", "malformed", "stall"}

        table = store.requests_with_meta(run_id, "generate")
        assert table.height == 305 and table["key"].n_unique() == 305
        assert counts["total"] == 305 and counts["answered"] + counts["failed"] == 305

        for row in table.iter_rows(named=True):
            answers = stats.answers.get(row["text"], [])
            if row["error"] is None:
                # The stored answer is one the server gave for this request. The server may have
                # given more only if the client had already stopped waiting (a timeout, which is
                # a retry); on a loaded machine that can happen to an ordinary answer.
                answer_id = int(re.match(r"answer (\d+): ", row["response"]).group(1))
                assert answer_id in answers and len(answers) <= 1 + row["retries"]
            else:
                assert answers == [] and row["response"] is None
                assert row["error"].split(":")[0] in KNOWN_REASONS
                assert row["retries"] == 4 and "gave up after 4 retries" in row["error"]
                assert stats.attempts[row["text"]] == 5

        doomed = table.filter(table["text"].str.contains("ALWAYS-FAIL"))
        assert doomed["error"].str.starts_with("server_error: http 500").all()
        assert counts["failed"] >= 5

        # Rerun: only failures are asked again; nothing answered is asked twice.
        answered_texts = set(table.filter(table["error"].is_null())["text"])
        server.reset_stats()
        again = run_requests(store, run_id, "generate", requests, show_progress=False)
        assert again["cached"] == counts["answered"] and again["asked"] == counts["failed"]
        assert not answered_texts & set(server.stats.attempts)


def test_runner_keeps_at_most_max_concurrency_requests_in_flight(tmp_path) -> None:
    with FaultyServer(FaultPlan(latency_s=0.05)) as server:
        spec = ModelSpec(name="stub", backend="openai", model="stub", base_url=server.base_url, max_concurrency=6)
        requests = [Request(spec, (ChatMessage(role="user", content=f"q{i}"),), GenerateConfig(), 0) for i in range(60)]
        store = RunStore(tmp_path / "s.sqlite")
        counts = run_requests(store, store.start_run("c", "test", {}), "generate", requests, show_progress=False)
    assert counts["answered"] == 60
    assert 2 <= server.stats.max_in_flight <= 6  # concurrent, but never above the limit
