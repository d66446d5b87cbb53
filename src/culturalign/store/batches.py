"""Batches in the run store: what was sent to a provider's Batch API or written to a batch file.

A batch is recorded (with every request it carries) before anything is uploaded, and each
step after it (file uploaded, batch created, output read) updates the record. A process
that dies at any point finds the record on the next run and carries on from that step, so
no request is submitted twice and no answer is lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import polars as pl

from culturalign.store.db import RunStore

# A batch in one of these states will not change any more on the provider's side.
PROVIDER_FINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# Ours: before the upload finished, after the upload, and after its answers were stored.
PREPARED, UPLOADED, IMPORTED = "prepared", "uploaded", "imported"


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    kind: str  # "api" (a provider's Batch API) or "file" (a portable batch file)
    model_name: str
    endpoint: str | None
    input_file_id: str | None
    provider_batch_id: str | None
    output_file_id: str | None
    error_file_id: str | None
    status: str
    request_count: int
    note: str | None
    created_at: str
    updated_at: str

    @property
    def in_flight(self) -> bool:
        return self.status != IMPORTED


_COLUMNS = ", ".join(f.name for f in fields(BatchRecord))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def record_batch(
    store: RunStore,
    batch_id: str,
    kind: str,
    model_name: str,
    items: Iterable[tuple[str, str]],
    *,
    endpoint: str | None = None,
    status: str = PREPARED,
) -> int:
    """Record a batch and its (key, request JSON) items in one transaction; returns the item count.

    Recording the same batch id again (the same file exported twice) changes nothing."""
    now = _now()
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO batches (batch_id, kind, model_name, endpoint, status, request_count, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (batch_id, kind, model_name, endpoint, status, now, now),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO batch_items (batch_id, key, request_json) VALUES (?, ?, ?)",
            ((batch_id, key, request_json) for key, request_json in items),
        )
        (count,) = conn.execute("SELECT COUNT(*) FROM batch_items WHERE batch_id = ?", (batch_id,)).fetchone()
        conn.execute("UPDATE batches SET request_count = ? WHERE batch_id = ?", (count, batch_id))
    return count


def update_batch(store: RunStore, batch_id: str, **changes: str | None) -> None:
    allowed = {"input_file_id", "provider_batch_id", "output_file_id", "error_file_id", "status", "note"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot update batch fields {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in changes)
    store.conn.execute(
        f"UPDATE batches SET {assignments}, updated_at = ? WHERE batch_id = ?",
        (*changes.values(), _now(), batch_id),
    )


def forget_batch(store: RunStore, batch_id: str) -> None:
    """Drop a batch that never reached the provider (its requests become pending again)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM batch_items WHERE batch_id = ?", (batch_id,))
        conn.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))


def open_batches(store: RunStore, model_name: str, kind: str = "api") -> list[BatchRecord]:
    """Batches of this model whose answers are not all stored yet, oldest first."""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM batches WHERE model_name = ? AND kind = ? AND status != ? ORDER BY created_at",
        (model_name, kind, IMPORTED),
    ).fetchall()
    return [BatchRecord(*row) for row in rows]


def batch_items(store: RunStore, batch_id: str) -> dict[str, str]:
    """key -> request JSON for one batch."""
    rows = store.conn.execute("SELECT key, request_json FROM batch_items WHERE batch_id = ?", (batch_id,))
    return dict(rows.fetchall())


def requests_for_keys(store: RunStore, keys: Iterable[str]) -> dict[str, str]:
    """key -> request JSON for every key that some batch carried (the newest record wins)."""
    found: dict[str, str] = {}
    chunk: list[str] = []
    for key in keys:
        chunk.append(key)
        if len(chunk) == 900:
            found.update(_lookup(store.conn, chunk))
            chunk = []
    if chunk:
        found.update(_lookup(store.conn, chunk))
    return found


def _lookup(conn: sqlite3.Connection, keys: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(keys))
    rows = conn.execute(f"SELECT key, request_json FROM batch_items WHERE key IN ({marks}) ORDER BY rowid", keys)
    return dict(rows.fetchall())


def batches_table(store: RunStore) -> pl.DataFrame:
    """Every batch in the store, newest first (for `culturalign runs`)."""
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM batches ORDER BY created_at DESC").fetchall()
    return pl.DataFrame(
        [BatchRecord(*row).__dict__ for row in rows],
        schema={f.name: (pl.Int64 if f.name == "request_count" else pl.Utf8) for f in fields(BatchRecord)},
    )


def batches_in_flight(store: RunStore, run_id: str) -> int:
    """Batches not yet brought home that carry requests of this run."""
    (count,) = store.conn.execute(
        """
        SELECT COUNT(*) FROM batches b WHERE b.status != ? AND EXISTS (
            SELECT 1 FROM batch_items i JOIN run_requests r ON r.key = i.key
            WHERE i.batch_id = b.batch_id AND r.run_id = ?)
        """,
        (IMPORTED, run_id),
    ).fetchone()
    return int(count)
