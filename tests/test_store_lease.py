"""Who holds a run: a live holder keeps it, a gone one is replaced, a holder that lost its run
stops asking. Holders on other hosts or dead processes are written into the store as they would
be found there; the live process is a real child process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from culturalign.engine import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.store import RunStore
from culturalign.store.lease import RunHeld, this_host


def _set_holder(path: Path, **fields: object) -> None:
    """Make the run's holder look like another process (what another process would have written)."""
    store = RunStore(path)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    store.conn.execute(f"UPDATE run_holders SET {assignments}", tuple(fields.values()))
    store.conn.close()  # not store.close(): that would give the run up


def _held_run(path: Path) -> str:
    store = RunStore(path)
    run_id = store.start_run("held", "test", {"k": 1})
    for lease in store._leases.values():
        lease.release(None)  # stop its heartbeat; the row stays, as after a crash
    store.conn.close()
    return run_id


def test_a_holder_on_another_host_keeps_the_run_until_its_lease_expires(tmp_path):
    path = tmp_path / "s.sqlite"
    run_id = _held_run(path)
    _set_holder(path, host="elsewhere.example", pid=4242, expires=time.time() + 60)
    with RunStore(path) as store, pytest.raises(RunHeld, match="pid 4242 on host elsewhere.example since"):
        store.start_run("held", "test", {"k": 1})
    with RunStore(path) as store:
        assert [r.status for r in store.runs()] == ["running"]  # a live holder elsewhere
    _set_holder(path, expires=time.time() - 1)
    with RunStore(path) as store:
        assert [r.status for r in store.runs()] == ["interrupted"]
        assert store.start_run("held", "test", {"k": 1}) == run_id  # taken over
        host = store.conn.execute("SELECT host FROM run_holders").fetchone()[0]
    assert host == this_host()


def test_a_live_process_on_this_host_holds_the_run_and_its_death_frees_it(tmp_path):
    path = tmp_path / "s.sqlite"
    run_id = _held_run(path)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        started = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        started = None  # no /proc: the lease decides, and it is still valid
    try:
        _set_holder(path, pid=child.pid, pid_started=started, expires=time.time() + 60)
        with RunStore(path) as store, pytest.raises(RunHeld, match=f"pid {child.pid} on host"):
            store.start_run("held", "test", {"k": 1})
    finally:
        child.kill()
        child.wait()
    with RunStore(path) as store:
        assert store.start_run("held", "test", {"k": 1}) == run_id


def test_a_reused_pid_does_not_hold_the_run(tmp_path):
    if not Path("/proc/self/stat").exists():
        pytest.skip("process start times are read from /proc")
    path = tmp_path / "s.sqlite"
    _held_run(path)
    # This very test process, but "started" at another time: the pid was reused.
    _set_holder(path, pid_started="1")
    with RunStore(path) as store:
        store.start_run("held", "test", {"k": 1})


def test_a_holder_that_lost_its_run_stops_asking_and_writes_no_status(tmp_path):
    path = tmp_path / "s.sqlite"
    spec = ModelSpec(name="m", backend="mock", options={"mode": "choice"})
    requests = [
        Request(spec, (ChatMessage(role="user", content=f"q{i}"),), GenerateConfig(max_tokens=4)) for i in range(5)
    ]
    with RunStore(path) as store:
        run_id = store.start_run("lost", "test", {})
        store.conn.execute("UPDATE run_holders SET token = 'theirs', host = 'elsewhere.example', pid = 7")
        (lease,) = store._leases.values()
        assert not lease.beat()  # the heartbeat finds the run taken
        with pytest.raises(RunHeld, match="taken over by pid 7 on host elsewhere.example"):
            run_requests(store, run_id, "generate", requests, show_progress=False)
        assert store.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 0
        store.finish_run(run_id, status="failed")
        assert store.conn.execute("SELECT status FROM runs").fetchone()[0] == "running"  # theirs to finish
        assert store.conn.execute("SELECT token FROM run_holders").fetchone()[0] == "theirs"


def test_finishing_gives_the_run_up(tmp_path):
    path = tmp_path / "s.sqlite"
    with RunStore(path) as store:
        run_id = store.start_run("done", "test", {})
        store.finish_run(run_id)
        assert store.conn.execute("SELECT COUNT(*) FROM run_holders").fetchone()[0] == 0
    with RunStore(path) as other:
        assert other.start_run("done", "test", {}) == run_id  # a rerun of a finished run resumes it
