"""SQLite run store (WAL). Each answer is committed as it arrives, so a crash loses nothing
that was answered and a rerun asks only for what is missing.

Tables (see migrations.py): runs, calls (the answer cache, keyed by request hash),
run_requests (which keys a run asked for, with their metadata), results (what later
stages computed from the calls, as JSON payloads per run, stage and key).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from culturalign import __version__
from culturalign.errors import DataError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelOutput, ModelSpec
from culturalign.redact import redact_optional
from culturalign.store.lease import Lease, acquire, is_held
from culturalign.store.schema import is_store_failure, open_store, store_error

# The results rows that hold each stage's summary, keyed by the stage's name (no schema change:
# they live beside the per-request results, under a name no stage can have).
STAGE_RESULTS = "@stage"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    name: str
    probe: str
    config: dict[str, Any]
    package_version: str
    started_at: str
    ended_at: str | None
    status: str


@dataclass(frozen=True)
class StoredCall:
    key: str
    model_name: str
    response: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float | None
    retries: int
    attempts: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.response is not None


class RunStore:
    """A run store; opening checks that the file is one, current and whole (store.schema)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = open_store(self.path)
        self._leases: dict[str, Lease] = {}
        self.damaged = False

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Give up the runs this store holds and close it (a damaged store gets no last write)."""
        leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            with contextlib.suppress(sqlite3.DatabaseError):  # it has stopped renewing before it writes
                lease.release(None if self.damaged else self.conn)
        self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        failure = exc is not None and is_store_failure(exc)
        if failure:
            self.damaged = True
        self.close()
        if failure:
            assert isinstance(exc, sqlite3.DatabaseError)
            raise store_error(self.path, exc) from None

    def failed(self, exc: BaseException) -> bool:
        """Note an error met while using the store: True (and nothing more is written) if it is the store's."""
        if is_store_failure(exc):
            self.damaged = True
        return self.damaged

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- runs ------------------------------------------------------------------------
    def start_run(self, name: str, probe: str, config: dict[str, Any], run_id: str | None = None) -> str:
        """Open a run, or reopen the run of the same name and config (resume), and hold it for this
        process; RunHeld (nothing changed) when another live process holds it (store.lease)."""
        config_json = json.dumps(config, sort_keys=True, default=str)
        # One transaction: two processes starting together cannot both find no run and open two.
        with self.transaction():
            row = None
            if run_id is None:
                row = self.conn.execute(
                    "SELECT run_id FROM runs WHERE name = ? AND config_json = ? ORDER BY started_at DESC LIMIT 1",
                    (name, config_json),
                ).fetchone()
                run_id = row[0] if row else f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
            if row:
                self.conn.execute("UPDATE runs SET status = 'running', ended_at = NULL WHERE run_id = ?", (run_id,))
            else:
                self.conn.execute(
                    "INSERT OR IGNORE INTO runs (run_id, name, probe, config_json, package_version, started_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, name, probe, config_json, __version__, _now()),
                )
            holder = acquire(self.conn, run_id)
        previous = self._leases.pop(run_id, None)
        if previous is not None:
            previous.release(None)
        self._leases[run_id] = Lease(self.path, holder)
        return run_id

    def finish_run(self, run_id: str, status: str = "done") -> None:
        """Record how the run ended and give it up (nothing is written into a damaged store)."""
        lease = self._leases.pop(run_id, None)
        if self.damaged or (lease is not None and lease.lost):  # damaged, or another process holds the run now
            if lease is not None:
                lease.release(None)
            return
        with self.transaction():
            self.conn.execute("UPDATE runs SET ended_at = ?, status = ? WHERE run_id = ?", (_now(), status, run_id))
            if lease is not None:
                lease.release(self.conn)

    def check_hold(self) -> None:
        """RunHeld if a run this store holds was taken over by another process (stop asking)."""
        for lease in self._leases.values():
            lease.check()

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first. A run marked running that no live process holds (killed, crashed)
        is reported as interrupted."""
        rows = self.conn.execute(
            "SELECT run_id, name, probe, config_json, package_version, started_at, ended_at, status"
            " FROM runs ORDER BY started_at"
        ).fetchall()
        return [
            RunInfo(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], _status(self.conn, r[0], r[7])) for r in rows
        ]

    def run(self, run_id: str | None = None) -> RunInfo:
        """One run by id; without an id, the latest. A one-line error when there is none."""
        runs = self.runs()
        if not runs:
            raise DataError(f"{self.path} holds no runs; start one with `culturalign run EXPERIMENT.toml`")
        if run_id is None:
            return runs[-1]
        for info in runs:
            if info.run_id == run_id or info.name == run_id:
                return info
        raise DataError(f"no run {run_id!r} in {self.path}; `culturalign runs {self.path}` lists them")

    # -- calls -----------------------------------------------------------------------
    def register_requests(self, run_id: str, stage: str, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO run_requests (run_id, stage, key, meta_json) VALUES (?, ?, ?, ?)",
                ((run_id, stage, key, json.dumps(meta, sort_keys=True, default=str)) for key, meta in items),
            )

    def answered_keys(self, keys: Sequence[str]) -> set[str]:
        """Keys whose answer is stored (failures are not answers: they may be asked again)."""
        found: set[str] = set()
        for chunk in _chunks(list(keys), 900):
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT key FROM calls WHERE key IN ({marks}) AND error IS NULL AND response IS NOT NULL", chunk
                )
            )
        return found

    def save_call(
        self,
        key: str,
        model: ModelSpec,
        params: GenerateConfig,
        messages: Sequence[ChatMessage],
        sample_index: int,
        output: ModelOutput,
    ) -> None:
        """Store one answer or failure; one transaction, so it is all there or not at all."""
        self.conn.execute(_SAVE_CALL_SQL, _call_row(key, model, params, messages, sample_index, output))

    def save_calls(self, items: Sequence[CallRecord]) -> None:
        """Store several answers in one transaction (all or none): the runner's group commit."""
        if len(items) == 1:
            self.save_call(*items[0])
            return
        with self.transaction():
            self.conn.executemany(_SAVE_CALL_SQL, (_call_row(*item) for item in items))

    def get_calls(self, keys: Sequence[str]) -> dict[str, StoredCall]:
        out: dict[str, StoredCall] = {}
        for chunk in _chunks(list(keys), 900):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                "SELECT key, model_name, response, error, input_tokens, output_tokens, latency_s, retries, attempts"
                f" FROM calls WHERE key IN ({marks})",
                chunk,
            ):
                out[row[0]] = StoredCall(*row)
        return out

    def requests(self, run_id: str, stage: str) -> pl.DataFrame:
        """The run's requests of one stage joined to their stored answers, one row per request.

        Columns: key, meta (JSON text), model_name, response, error, input_tokens, output_tokens,
        latency_s, retries, attempts, messages_json.
        """
        rows = self.conn.execute(
            """
            SELECT r.key, r.meta_json, c.model_name, c.response, c.error, c.input_tokens, c.output_tokens,
                   c.latency_s, c.retries, c.attempts, c.messages_json
            FROM run_requests r LEFT JOIN calls c ON c.key = r.key
            WHERE r.run_id = ? AND r.stage = ? ORDER BY r.rowid
            """,
            (run_id, stage),
        ).fetchall()
        return pl.DataFrame(
            rows,
            schema={
                "key": pl.Utf8,
                "meta": pl.Utf8,
                "model_name": pl.Utf8,
                "response": pl.Utf8,
                "error": pl.Utf8,
                "input_tokens": pl.Int64,
                "output_tokens": pl.Int64,
                "latency_s": pl.Float64,
                "retries": pl.Int64,
                "attempts": pl.Int64,
                "messages_json": pl.Utf8,
            },
            orient="row",
        )

    def requests_with_meta(self, run_id: str, stage: str) -> pl.DataFrame:
        """As `requests`, with every metadata field unpacked into its own column."""
        df = self.requests(run_id, stage)
        if df.is_empty():
            return df.drop("meta")
        metas = pl.DataFrame([json.loads(m) for m in df["meta"]])
        metas = metas.select([c for c in metas.columns if c not in df.columns])
        return pl.concat([df.drop("meta"), metas], how="horizontal")

    # -- stage results ----------------------------------------------------------------
    def save_results(self, run_id: str, stage: str, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Write (or replace) a stage's results for these keys in one transaction."""
        now = _now()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO results (run_id, stage, key, payload_json, created_at) VALUES (?, ?, ?, ?, ?)",
                ((run_id, stage, key, json.dumps(p, ensure_ascii=False, default=str), now) for key, p in items),
            )

    def result_stages(self, run_id: str) -> list[str]:
        """The stages with per-request results (not the stage summaries)."""
        rows = self.conn.execute(
            "SELECT DISTINCT stage FROM results WHERE run_id = ? AND stage != ? ORDER BY stage", (run_id, STAGE_RESULTS)
        )
        return [row[0] for row in rows]

    # -- stage summaries: one typed result per stage (probes.registry.StageResult) -------------
    def save_stage_result(self, run_id: str, stage: str, payload: dict[str, Any]) -> None:
        self.save_results(run_id, STAGE_RESULTS, [(stage, payload)])

    def stage_results(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every stage summary of a run, in the order the stages recorded them."""
        rows = self.conn.execute(
            "SELECT key, payload_json FROM results WHERE run_id = ? AND stage = ? ORDER BY rowid",
            (run_id, STAGE_RESULTS),
        )
        return {key: json.loads(payload) for key, payload in rows}

    def stage_result(self, run_id: str, stage: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT payload_json FROM results WHERE run_id = ? AND stage = ? AND key = ?",
            (run_id, STAGE_RESULTS, stage),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def result_keys(self, run_id: str, stage: str) -> set[str]:
        return {
            r[0] for r in self.conn.execute("SELECT key FROM results WHERE run_id = ? AND stage = ?", (run_id, stage))
        }

    def results(self, run_id: str, stage: str) -> pl.DataFrame:
        """A stage's results as a table: `key` plus one column per payload field."""
        rows = self.conn.execute(
            "SELECT key, payload_json FROM results WHERE run_id = ? AND stage = ? ORDER BY rowid", (run_id, stage)
        ).fetchall()
        if not rows:
            return pl.DataFrame({"key": []}, schema={"key": pl.Utf8})
        records = [{"key": key, **json.loads(payload)} for key, payload in rows]
        return pl.DataFrame(records, infer_schema_length=None)

    def usage(self, run_id: str) -> pl.DataFrame:
        """Tokens, time and failures per model and stage for one run."""
        rows = self.conn.execute(
            """
            SELECT r.stage, c.model_name, COUNT(*), SUM(c.error IS NULL AND c.response IS NOT NULL),
                   SUM(c.error IS NOT NULL), SUM(COALESCE(c.input_tokens, 0)), SUM(COALESCE(c.output_tokens, 0)),
                   SUM(COALESCE(c.latency_s, 0)), SUM(c.retries)
            FROM run_requests r JOIN calls c ON c.key = r.key
            WHERE r.run_id = ? GROUP BY r.stage, c.model_name ORDER BY r.stage, c.model_name
            """,
            (run_id,),
        ).fetchall()
        return pl.DataFrame(
            rows,
            schema=[
                "stage",
                "model",
                "calls",
                "answered",
                "failed",
                "input_tokens",
                "output_tokens",
                "latency_s",
                "retries",
            ],
            orient="row",
        )

    def export_calls(self, run_id: str) -> pl.DataFrame:
        """Every request of a run with its answer, for Parquet export and ad-hoc queries."""
        frames = []
        for (stage,) in self.conn.execute("SELECT DISTINCT stage FROM run_requests WHERE run_id = ?", (run_id,)):
            frames.append(self.requests(run_id, stage).with_columns(pl.lit(stage).alias("stage")))
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame()


CallRecord = tuple[str, ModelSpec, GenerateConfig, Sequence[ChatMessage], int, ModelOutput]

# An answer never overwrites an answer: only a stored failure (response NULL) is replaced,
# and its retries and attempts accumulate.
_SAVE_CALL_SQL = """
    INSERT INTO calls (key, model_name, model_json, params_json, messages_json, sample_index, response,
                       input_tokens, output_tokens, latency_s, retries, attempts, error, finish_reason,
                       created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
    ON CONFLICT(key) DO UPDATE SET
        response = excluded.response, input_tokens = excluded.input_tokens,
        output_tokens = excluded.output_tokens, latency_s = excluded.latency_s,
        retries = calls.retries + excluded.retries, attempts = calls.attempts + 1,
        error = excluded.error, finish_reason = excluded.finish_reason, updated_at = excluded.updated_at
    WHERE calls.response IS NULL
"""


def _call_row(
    key: str,
    model: ModelSpec,
    params: GenerateConfig,
    messages: Sequence[ChatMessage],
    sample_index: int,
    output: ModelOutput,
) -> tuple:
    now = _now()
    return (
        key,
        model.name,
        json.dumps(model.identity(), sort_keys=True),
        json.dumps(params.model_dump(exclude_none=True), sort_keys=True),
        json.dumps([m.model_dump() for m in messages], ensure_ascii=False),
        sample_index,
        output.text if output.error is None else None,
        output.input_tokens,
        output.output_tokens,
        output.latency_s,
        output.retries,
        redact_optional(output.error),  # a server may quote the API key back
        output.finish_reason,
        now,
        now,
    )


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _status(conn: sqlite3.Connection, run_id: str, stored: str) -> str:
    return "interrupted" if stored == "running" and not is_held(conn, run_id) else stored


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
