"""Runs through a provider's Batch API, against a loopback server that follows its documentation:
the answers land in the store by key, a killed client creates no second batch and pays for no
request twice, and requests an expired batch left unanswered are the only ones sent again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from culturalign.engine import run_requests
from culturalign.engine.summary import list_runs
from culturalign.run import run_experiment
from culturalign.store import RunStore
from culturalign.store.batches import batches_table
from servers.batch_api import BatchPlan, BatchServer, reply_for
from servers.stub_run import stub_requests

TESTS = Path(__file__).resolve().parent


def _run(store_path: Path, base_url: str, n: int, **kwargs) -> dict[str, int]:
    with RunStore(store_path) as store:
        run_id = store.start_run("batch", "test", {"n": n})
        return run_requests(
            store, run_id, "generate", stub_requests(base_url, n, 4, batch=True, **kwargs), show_progress=False
        )


def _stored(store_path: Path) -> dict[str, tuple[str | None, str | None]]:
    with RunStore(store_path) as store:
        rows = store.conn.execute("SELECT messages_json, response, error FROM calls").fetchall()
    return {json.loads(m)[-1]["content"]: (response, error) for m, response, error in rows}


def test_a_batch_run_stores_every_answer_by_key_and_splits_under_the_limits(tmp_path) -> None:
    with BatchServer(BatchPlan(steps_in_progress=2)) as server:
        counts = _run(tmp_path / "s.sqlite", server.base_url, 25, batch_max_requests=10)
        assert server.stats.batches_created == 3  # 10 + 10 + 5
        assert sorted(server.stats.billed.values()) == [1] * 25
    assert counts["answered"] == 25 and counts["failed"] == 0
    stored = _stored(tmp_path / "s.sqlite")
    assert len(stored) == 25
    for text, (response, error) in stored.items():
        assert error is None and response == reply_for(text)
    with RunStore(tmp_path / "s.sqlite") as store:
        batches = batches_table(store)
    assert batches.height == 3 and set(batches["status"]) == {"imported"}
    assert sorted(batches["request_count"]) == [5, 10, 10]


def test_a_finished_batch_run_sends_nothing_again(tmp_path) -> None:
    with BatchServer(BatchPlan()) as server:
        _run(tmp_path / "s.sqlite", server.base_url, 12)
        counts = _run(tmp_path / "s.sqlite", server.base_url, 12)
        assert server.stats.batches_created == 1 and server.stats.uploads == 1
    assert counts["cached"] == 12 and counts["asked"] == 0


def test_an_expired_batch_leaves_its_unanswered_requests_pending_and_only_they_are_resubmitted(tmp_path) -> None:
    plan = BatchPlan(end_status="expired", answer_share=0.5)
    with BatchServer(plan) as server:
        first = _run(tmp_path / "s.sqlite", server.base_url, 20)
        assert first["answered"] == 10 and first["failed"] == 10
        failures = [e for r, e in _stored(tmp_path / "s.sqlite").values() if e]
        assert len(failures) == 10 and all("expired" in e for e in failures)
        plan.end_status = "completed"
        second = _run(tmp_path / "s.sqlite", server.base_url, 20)
        assert second["cached"] == 10 and second["asked"] == 10 and second["answered"] == 10
        resubmitted = server.files[server.batches["batch_0002"]["input_file_id"]].decode().splitlines()
        assert len(resubmitted) == 10
        assert sorted(server.stats.billed.values()) == [1] * 20  # nobody paid twice
    assert all(error is None for _, error in _stored(tmp_path / "s.sqlite").values())


def test_lines_the_provider_refused_are_stored_as_failures_with_the_reason(tmp_path) -> None:
    with BatchServer(BatchPlan(fail_markers=("question 00003",))) as server:
        counts = _run(tmp_path / "s.sqlite", server.base_url, 5)
    assert counts["answered"] == 4 and counts["failed"] == 1
    response, error = _stored(tmp_path / "s.sqlite")["question 00003"]
    assert response is None and "this line was refused" in error


def test_a_failed_batch_stores_the_providers_reason(tmp_path) -> None:
    with BatchServer(BatchPlan(end_status="failed")) as server:
        counts = _run(tmp_path / "s.sqlite", server.base_url, 3)
    assert counts["failed"] == 3
    assert all("the input was refused" in e for _, e in _stored(tmp_path / "s.sqlite").values())


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killing_the_client_while_its_batch_runs_creates_no_second_batch(tmp_path) -> None:
    store_path = tmp_path / "s.sqlite"
    with BatchServer(BatchPlan(hold=True)) as server:
        command = [
            sys.executable,
            str(TESTS / "servers" / "stub_run.py"),
            "--base-url",
            server.base_url,
            "--store",
            str(store_path),
            "--n",
            "30",
            "--batch",
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent / "src"), str(TESTS)])}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batches = list(server.batches.values())
            if batches and batches[0]["status"] == "in_progress":
                break
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.05)
        time.sleep(0.3)  # the client is polling a batch that is running
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with RunStore(store_path) as store:
            in_flight = batches_table(store)
        assert in_flight.height == 1 and in_flight["status"][0] == "in_progress"
        assert list_runs(store_path)["batches_in_flight"].to_list() == [1]  # what `culturalign runs` shows
        server.release()
        counts = _run(store_path, server.base_url, 30)
        assert server.stats.batches_created == 1 and server.stats.uploads == 1
        assert sorted(server.stats.billed.values()) == [1] * 30
    assert counts["answered"] == 30
    assert len(_stored(store_path)) == 30


def test_a_crash_between_creating_a_batch_and_recording_it_adopts_the_batch(tmp_path, monkeypatch) -> None:
    """The batch exists at the provider but the store never heard its id: the next run finds it
    by its input file instead of creating (and paying for) a second one."""
    from culturalign.store import batches as stored

    real_update = stored.update_batch

    def crash_before_recording_the_id(store, batch_id, **changes):
        if "provider_batch_id" in changes:
            raise KeyboardInterrupt  # the process dies here
        real_update(store, batch_id, **changes)

    with BatchServer(BatchPlan()) as server:
        monkeypatch.setattr(stored, "update_batch", crash_before_recording_the_id)
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path / "s.sqlite", server.base_url, 8)
        monkeypatch.setattr(stored, "update_batch", real_update)
        assert server.stats.batches_created == 1
        counts = _run(tmp_path / "s.sqlite", server.base_url, 8)
        assert server.stats.batches_created == 1 and server.stats.uploads == 1
        assert sorted(server.stats.billed.values()) == [1] * 8
    assert counts["answered"] == 8


EXPERIMENT = """
probe = "wvs"
name = "batched"
seed = 2
languages = ["da", "en", "nl", "pt"]
store = "batched.sqlite"
output = "batched-out"

[[models]]
name = "served"
backend = "openai"
model = "stub"
base_url = "{base_url}"
price_input_per_mtok = 2.0
price_output_per_mtok = 8.0
options = {{ batch_poll_s = 0.05 }}

[wvs]
prompts_per_language = 10
"""


@pytest.fixture
def _published_tables(static_server, paper_data, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(paper_data))


def test_run_with_batch_goes_through_the_batch_api_and_stays_the_same_run(tmp_path, _published_tables) -> None:
    with BatchServer(BatchPlan()) as server:
        experiment = tmp_path / "exp.toml"
        experiment.write_text(EXPERIMENT.format(base_url=server.base_url), encoding="utf-8")
        estimate = run_experiment(experiment, dry_run=True, batch=True)
        assert estimate.estimated_batch_cost_usd == pytest.approx(estimate.estimated_cost_usd / 2)
        first = run_experiment(experiment, batch=True, show_progress=False)
        assert server.stats.batches_created == 1 and len(server.stats.billed) == 40
        again = run_experiment(experiment, show_progress=False)  # without --batch: nothing left to ask
    assert again.run_id == first.run_id and server.stats.batches_created == 1
    assert sorted(server.stats.billed.values()) == [1] * 40
