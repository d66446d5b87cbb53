"""One process per run: who holds a run, and whether that holder is still there.

`culturalign run` takes the run's row in `run_holders` (pid, host, process start time, since)
in the same transaction that opens or resumes the run, so two processes can never both hold
it: the second ends with RunHeld naming the holder, before it asks anything. The holder
renews a lease (`expires`) from a background thread every HEARTBEAT_S seconds and deletes the
row when it finishes.

A holder is gone, and its run may be taken over, when
- on this host: its pid no longer runs, or now belongs to a process started at another time
  (pid reuse; where the start time cannot be read, the lease decides);
- on another host: its lease has expired (nothing else can be checked from here).
A holder whose run was taken over anyway (it was suspended past its lease) finds out at its
next heartbeat and stops asking (`Lease.check`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from culturalign.errors import UserError

LEASE_TTL_S = 90.0
HEARTBEAT_S = 15.0


class RunHeld(UserError):
    """The run is held by another live process."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    token: str
    pid: int
    host: str
    pid_started: str | None
    since: str
    heartbeat: float
    expires: float

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.since}"


def this_host() -> str:
    return socket.gethostname()


def read_holder(conn: sqlite3.Connection, run_id: str) -> Holder | None:
    row = conn.execute(
        "SELECT run_id, token, pid, host, pid_started, since, heartbeat, expires FROM run_holders WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return Holder(*row) if row else None


def is_alive(holder: Holder, now: float | None = None) -> bool:
    """Is the process that holds the run still there (see the module's rules)?"""
    now = time.time() if now is None else now
    lease_valid = now < holder.expires
    if holder.host != this_host() or os.name == "nt":
        # Another host: only the lease can tell. Windows: os.kill(pid, 0) would end the process.
        return lease_valid
    stat = _proc_stat(holder.pid)
    if stat is not None:
        state, started = stat
        return state != "Z" and (holder.pid_started is None or started == holder.pid_started)
    if not _pid_runs(holder.pid):
        return False
    return lease_valid  # the pid runs, but without a start time it may be another process


def is_held(conn: sqlite3.Connection, run_id: str) -> bool:
    """Does a live process hold this run now?"""
    holder = read_holder(conn, run_id)
    return holder is not None and is_alive(holder)


def acquire(conn: sqlite3.Connection, run_id: str) -> Holder:
    """Take the run for this process inside the caller's write transaction; RunHeld if a live
    process holds it. A holder that is gone is replaced; so is this very process (re-entry)."""
    current = read_holder(conn, run_id)
    if current is not None and is_alive(current) and not _is_this_process(current):
        raise RunHeld(
            f"run {run_id} is already running: held by {current.describe()}; nothing was asked. "
            f"Wait for it to finish, or stop that process and run again to resume"
        )
    now = time.time()
    holder = Holder(
        run_id=run_id,
        token=uuid.uuid4().hex,
        pid=os.getpid(),
        host=this_host(),
        pid_started=_own_start(),
        since=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        heartbeat=now,
        expires=now + LEASE_TTL_S,
    )
    conn.execute(
        "INSERT OR REPLACE INTO run_holders (run_id, token, pid, host, pid_started, since, heartbeat, expires)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            holder.run_id,
            holder.token,
            holder.pid,
            holder.host,
            holder.pid_started,
            holder.since,
            holder.heartbeat,
            holder.expires,
        ),
    )
    return holder


class Lease:
    """This process's hold on one run: renewed by a daemon thread until `release`."""

    def __init__(self, path: Path, holder: Holder) -> None:
        self.path = path
        self.holder = holder
        self.lost_to: Holder | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"culturalign-lease-{holder.run_id}", daemon=True)
        self._thread.start()

    def beat(self) -> bool:
        """Renew the lease once; False (and `lost`) when another process has taken the run."""
        now = time.time()
        try:
            # A connection of its own: the store's belongs to the thread that opened it.
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                updated = conn.execute(
                    "UPDATE run_holders SET heartbeat = ?, expires = ? WHERE run_id = ? AND token = ?",
                    (now, now + LEASE_TTL_S, self.holder.run_id, self.holder.token),
                ).rowcount
                if not updated:
                    self.lost_to = read_holder(conn, self.holder.run_id)
                    self.lost = True
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # busy or unreadable this time: the lease still has time, try at the next beat
        return not self.lost

    def check(self) -> None:
        """RunHeld once the run has been taken over: the caller must stop asking."""
        if self.lost:
            by = self.lost_to.describe() if self.lost_to else "another process"
            raise RunHeld(
                f"run {self.holder.run_id} was taken over by {by} while this process was not renewing its hold; "
                "this process stops here (every stored answer is kept)"
            )

    def release(self, conn: sqlite3.Connection | None) -> None:
        """Stop renewing; with a connection, also give the run up (delete our row, if still ours)."""
        self._stop.set()
        if conn is not None:
            conn.execute(
                "DELETE FROM run_holders WHERE run_id = ? AND token = ?", (self.holder.run_id, self.holder.token)
            )

    def _renew(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if not self.beat():
                return


def _is_this_process(holder: Holder) -> bool:
    return holder.host == this_host() and holder.pid == os.getpid() and holder.pid_started == _own_start()


def _own_start() -> str | None:
    stat = _proc_stat(os.getpid())
    return stat[1] if stat else None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) from /proc on Linux; None where unreadable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    except OSError:
        return False
    return True
