"""One process per run, with real `culturalign run` processes on one store (mock backend).

Every mock call is logged (CULTURALIGN_MOCK_CALL_LOG) with the pid that made it, so a test
counts what each process asked. A second process on a held run must end with one line
naming the holder, exit 2, having asked nothing; a killed holder's run shows as interrupted
and is taken over by the next `run`; two different runs share a store side by side.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cli_helpers import run_cli
from culturalign.engine.summary import list_runs

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Slow generation (0.3 s a call, one at a time) so that a run is still going when the test
# acts on it; a fast judge.
EXPERIMENT = """
probe = "wvs"
name = "{name}"
seed = 3
languages = {languages}
store = "runs/shared.sqlite"
output = "runs/{name}"

[[models]]
name = "mock-slow"
backend = "mock"
max_concurrency = 1
options = {{ latency_s = 0.3 }}

[[judges]]
name = "mock-judge"
backend = "mock"

[wvs]
prompts_per_language = 8
"""


@pytest.fixture(autouse=True)
def _published_tables_from_loopback(static_server, paper_data, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(paper_data))


def _experiment(tmp_path: Path, name: str = "exclusive", languages: tuple[str, ...] = ("da", "en")) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(EXPERIMENT.format(name=name, languages=list(languages)).replace("'", '"'), encoding="utf-8")
    return path


def _env(call_log: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")])
    env["CULTURALIGN_MOCK_CALL_LOG"] = str(call_log)
    return env


def _command(experiment: Path) -> list[str]:
    return [sys.executable, "-m", "culturalign.cli.main", "run", str(experiment), "--no-progress"]


def _start(experiment: Path, call_log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _command(experiment),
        env=_env(call_log),
        cwd=experiment.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_to_end(experiment: Path, call_log: Path) -> tuple[int, int, str]:
    """Run `culturalign run` to its end: (pid, exit code, stderr)."""
    process = _start(experiment, call_log)
    _, err = process.communicate(timeout=300)
    return process.pid, process.returncode, err


def _query(store: Path, sql: str) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0] or 0)
    except sqlite3.OperationalError:  # not created yet
        return 0


def _wait_until_asking(process: subprocess.Popen, store: Path, answered: int) -> None:
    """Until the process has stored `answered` answers (it holds its run before it asks)."""
    deadline = time.monotonic() + 180
    while _query(store, "SELECT COUNT(*) FROM calls WHERE response IS NOT NULL") < answered:
        assert process.poll() is None, f"the run ended before the test could act on it: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


def _pause_outside_a_write(process: subprocess.Popen, store: Path) -> None:
    """SIGSTOP the process at a moment it holds no write lock on the store (else others would wait)."""
    while True:
        os.kill(process.pid, signal.SIGSTOP)
        probe = sqlite3.connect(store, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:  # it was inside a write: let it finish, try again
            os.kill(process.pid, signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()


def _calls(call_log: Path) -> list[tuple[int, str]]:
    """(pid, model and request hash) of every mock call, from the log."""
    if not call_log.exists():
        return []
    rows = [line.split("\t") for line in call_log.read_text().splitlines()]
    return [(int(pid), f"{model}:{seed}") for pid, model, seed in rows]


def test_a_second_process_on_a_held_run_asks_nothing_and_names_the_holder(tmp_path):
    experiment = _experiment(tmp_path)
    store = tmp_path / "runs" / "shared.sqlite"
    call_log = tmp_path / "calls.log"
    first = _start(experiment, call_log)
    try:
        _wait_until_asking(first, store, answered=1)
        _pause_outside_a_write(first, store)
        second_pid, second_code, second_err = _run_to_end(experiment, call_log)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()

    calls = _calls(call_log)
    asked_twice = sum(n - 1 for n in Counter(request for _, request in calls).values())
    assert asked_twice == 0
    assert not [pid for pid, _ in calls if pid == second_pid]  # the second process asked nothing
    assert second_code == 2, second_err
    lines = second_err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in second_err
    assert f"pid {first.pid} on host {socket.gethostname()} since" in lines[0]
    assert len(calls) == _query(store, "SELECT COUNT(*) FROM calls")  # one call per stored request
    assert list_runs(store)["status"].to_list() == ["done"]


def test_a_killed_run_shows_interrupted_and_the_next_run_takes_it_over(tmp_path, capsys):
    experiment = _experiment(tmp_path)
    store = tmp_path / "runs" / "shared.sqlite"
    call_log = tmp_path / "calls.log"
    killed = _start(experiment, call_log)
    _wait_until_asking(killed, store, answered=3)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    answered_before = _query(store, "SELECT COUNT(*) FROM calls WHERE response IS NOT NULL")

    runs = list_runs(store)
    assert runs["status"].to_list() == ["interrupted"]
    assert runs["answered"].item() == answered_before and runs["requests"].item() >= answered_before
    code, out, err = run_cli(["runs", str(store)], capsys)
    assert code == 0 and "interrupted" in out and "running" not in out, err

    resumed_pid, resumed_code, resumed_err = _run_to_end(experiment, call_log)
    assert resumed_code == 0, resumed_err
    by_resumed = [request for pid, request in _calls(call_log) if pid == resumed_pid]
    total = _query(store, "SELECT COUNT(*) FROM calls WHERE response IS NOT NULL")
    assert len(by_resumed) == len(set(by_resumed)) == total - answered_before  # only what was missing
    assert list_runs(store)["status"].to_list() == ["done"]


def test_two_different_runs_share_a_store_side_by_side(tmp_path):
    call_log = tmp_path / "calls.log"
    store = tmp_path / "runs" / "shared.sqlite"
    processes = [
        _start(_experiment(tmp_path, "danish", ("da",)), call_log),
        _start(_experiment(tmp_path, "english", ("en",)), call_log),
    ]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    runs = list_runs(store)
    assert sorted(runs["name"].to_list()) == ["danish", "english"]
    assert runs["status"].to_list() == ["done", "done"]
    assert runs["missing"].to_list() == [0, 0] and runs["failed"].to_list() == [0, 0]
    calls = _calls(call_log)
    assert len(calls) == len({request for _, request in calls}) == _query(store, "SELECT COUNT(*) FROM calls")
