"""Kill a run with SIGKILL midway and rerun it: the store ends with exactly the requests of
an uninterrupted run, no duplicates, and nothing already stored is asked again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from culturalign.store import RunStore
from servers.faulty import FaultPlan, FaultyServer
from servers.stub_run import stub_requests

RUN_SCRIPT = Path(__file__).parent / "servers" / "stub_run.py"
N = 200


def _start(base_url: str, store: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        str(RUN_SCRIPT),
        "--base-url",
        base_url,
        "--store",
        str(store),
        "--n",
        str(N),
        "--concurrency",
        "4",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _answered(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM calls WHERE response IS NOT NULL").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is still being created
        return 0


def _stored_texts(store: Path) -> set[str]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT messages_json FROM calls WHERE response IS NOT NULL").fetchall()
    return {json.loads(m)[-1]["content"] for (m,) in rows}


@pytest.mark.slow
def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    with FaultyServer(FaultPlan(latency_s=0.05)) as server:
        killed_store = tmp_path / "killed.sqlite"
        process = _start(server.base_url, killed_store)
        deadline = time.monotonic() + 60
        while _answered(killed_store) < N // 3:
            assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL

        before = _stored_texts(killed_store)
        assert N // 3 <= len(before) < N
        first_phase_answers = {text: list(ids) for text, ids in server.stats.answers.items()}
        server.reset_stats()

        rerun = _start(server.base_url, killed_store)
        assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
        asked_again = set(server.stats.attempts)
        assert not asked_again & before  # nothing stored was asked again
        assert asked_again == {f"question {i:05d}" for i in range(N)} - before

        reference_store = tmp_path / "reference.sqlite"
        reference = _start(server.base_url, reference_store)
        assert reference.wait(timeout=120) == 0, reference.stderr.read()

    expected = {r.key for r in stub_requests(server.base_url, N, 4)}
    for path in (killed_store, reference_store):
        with RunStore(path) as store:
            run = store.run()
            table = store.requests(run.run_id, "generate")
            assert table.height == N and set(table["key"]) == expected
            assert table["response"].null_count() == 0 and table["error"].null_count() == N
            assert store.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == N
            assert run.status == "done"
    # every answer stored before the kill came from exactly one server answer
    assert all(len(first_phase_answers[text]) == 1 for text in before)
