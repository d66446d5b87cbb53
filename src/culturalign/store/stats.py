"""What a run store says about its runs: the stage log the runner keeps, per-stage and
per-model counts, failures grouped by reason, and the overview behind `culturalign runs`."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import polars as pl

from culturalign.models.retry import error_reason
from culturalign.store.db import RunStore


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def begin_stage(store: RunStore, run_id: str, stage: str, model_name: str, total: int, cached: int, asked: int) -> int:
    """Log that the runner starts on (stage, model); returns the log row's id for `end_stage`."""
    cursor = store.conn.execute(
        "INSERT INTO stage_runs (run_id, stage, model_name, started_at, total, cached, asked) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (run_id, stage, model_name, _now(), total, cached, asked),
    )
    return int(cursor.lastrowid or 0)


def end_stage(
    store: RunStore, log_id: int, answered: int, failed: int, wall_s: float, endpoints: list[dict] | None = None
) -> None:
    store.conn.execute(
        "UPDATE stage_runs SET ended_at = ?, answered = ?, failed = ?, wall_s = ?, endpoints_json = ? WHERE id = ?",
        (_now(), answered, failed, wall_s, json.dumps(endpoints) if endpoints else None, log_id),
    )


def set_stage_totals(
    store: RunStore, run_id: str, stage: str, model_name: str, total: int, cached: int, asked: int
) -> None:
    """Record a pass's request counts once they are known (requests stream in while it runs)."""
    store.conn.execute(
        "UPDATE stage_runs SET total = ?, cached = ?, asked = ? WHERE id ="
        " (SELECT MAX(id) FROM stage_runs WHERE run_id = ? AND stage = ? AND model_name = ?)",
        (total, cached, asked, run_id, stage, model_name),
    )


def endpoint_summary(store: RunStore, run_id: str) -> pl.DataFrame:
    """Per stage, model and endpoint: answers, failed attempts (by reason) and rests, summed over
    the runner's passes. Empty when every model had one endpoint."""
    rows: dict[tuple[str, str, str], dict] = {}
    for stage, model, endpoints_json in store.conn.execute(
        "SELECT stage, model_name, endpoints_json FROM stage_runs WHERE run_id = ? AND endpoints_json IS NOT NULL"
        " ORDER BY id",
        (run_id,),
    ):
        for entry in json.loads(endpoints_json):
            row = rows.setdefault(
                (stage, model, entry["endpoint"]),
                {
                    "stage": stage,
                    "model": model,
                    "endpoint": entry["endpoint"],
                    "answered": 0,
                    "failed_attempts": 0,
                    "rests": 0,
                    "_reasons": Counter(),
                },
            )
            row["answered"] += entry["answered"]
            row["failed_attempts"] += entry["failed_attempts"]
            row["rests"] += entry["rests"]
            row["_reasons"].update(entry["reasons"])
    records = [
        {
            **{k: v for k, v in r.items() if k != "_reasons"},
            "failed_by_reason": ", ".join(f"{k} {v}" for k, v in sorted(r["_reasons"].items())),
        }
        for r in rows.values()
    ]
    schema = {
        "stage": pl.Utf8,
        "model": pl.Utf8,
        "endpoint": pl.Utf8,
        "answered": pl.Int64,
        "failed_attempts": pl.Int64,
        "rests": pl.Int64,
        "failed_by_reason": pl.Utf8,
    }
    return pl.DataFrame(records, schema=schema)


_SUMMARY_SCHEMA = {
    "stage": pl.Utf8,
    "model": pl.Utf8,
    "requests": pl.Int64,
    "cached": pl.Int64,
    "asked": pl.Int64,
    "answered": pl.Int64,
    "failed": pl.Int64,
    "failed_by_reason": pl.Utf8,
    "retries": pl.Int64,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "wall_s": pl.Float64,
    "model_time_s": pl.Float64,
}


def stage_summary(store: RunStore, run_id: str) -> pl.DataFrame:
    """One row per stage and model: the latest runner pass (requests, cached, asked, wall time) and
    what is stored now (answered, failed by reason, retries, tokens, summed model latency)."""
    latest = {
        (row[0], row[1]): row[2:]
        for row in store.conn.execute(
            """
            SELECT stage, model_name, total, cached, asked, wall_s FROM stage_runs
            WHERE id IN (SELECT MAX(id) FROM stage_runs WHERE run_id = ? GROUP BY stage, model_name)
            """,
            (run_id,),
        )
    }
    stored = {
        (row[0], row[1]): row[2:]
        for row in store.conn.execute(
            """
            SELECT r.stage, c.model_name, SUM(c.error IS NULL AND c.response IS NOT NULL), SUM(c.error IS NOT NULL),
                   SUM(c.retries), SUM(COALESCE(c.input_tokens, 0)), SUM(COALESCE(c.output_tokens, 0)),
                   SUM(COALESCE(c.latency_s, 0))
            FROM run_requests r JOIN calls c ON c.key = r.key
            WHERE r.run_id = ? GROUP BY r.stage, c.model_name
            """,
            (run_id,),
        )
    }
    reasons = failure_reasons(store, run_id)
    rows = []
    for stage, model in sorted(set(latest) | set(stored)):
        total, cached, asked, wall = latest.get((stage, model), (None, None, None, None))
        ok, bad, retries, tokens_in, tokens_out, model_time = stored.get((stage, model), (0, 0, 0, 0, 0, 0.0))
        by_reason = reasons.get((stage, model), Counter())
        rows.append(
            (
                stage,
                model,
                total if total is not None else ok + bad,
                cached,
                asked,
                ok,
                bad,
                ", ".join(f"{reason} {n}" for reason, n in by_reason.most_common()),
                retries,
                tokens_in,
                tokens_out,
                wall,
                model_time,
            )
        )
    return pl.DataFrame(rows, schema=_SUMMARY_SCHEMA, orient="row")


def failure_reasons(store: RunStore, run_id: str) -> dict[tuple[str, str], Counter]:
    """(stage, model) -> Counter of stored failures by reason code."""
    out: dict[tuple[str, str], Counter] = {}
    for stage, model, error in store.conn.execute(
        """
        SELECT r.stage, c.model_name, c.error FROM run_requests r JOIN calls c ON c.key = r.key
        WHERE r.run_id = ? AND c.error IS NOT NULL
        """,
        (run_id,),
    ):
        out.setdefault((stage, model), Counter())[error_reason(error) or "other"] += 1
    return out


_RUNS_SCHEMA = {
    "run_id": pl.Utf8,
    "name": pl.Utf8,
    "probe": pl.Utf8,
    "status": pl.Utf8,
    "started_at": pl.Utf8,
    "ended_at": pl.Utf8,
    "requests": pl.Int64,
    "answered": pl.Int64,
    "failed": pl.Int64,
    "missing": pl.Int64,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "duration_s": pl.Float64,
    "package_version": pl.Utf8,
}


def runs_overview(store: RunStore) -> pl.DataFrame:
    """One row per run: status, request counts, tokens and duration (end - start, or the runner's
    logged wall time for a run that never finished)."""
    rows = []
    for info in store.runs():
        requests, answered, failed, tokens_in, tokens_out = store.conn.execute(
            """
            SELECT COUNT(*), COALESCE(SUM(c.error IS NULL AND c.response IS NOT NULL), 0),
                   COALESCE(SUM(c.error IS NOT NULL), 0), COALESCE(SUM(c.input_tokens), 0),
                   COALESCE(SUM(c.output_tokens), 0)
            FROM (SELECT DISTINCT key FROM run_requests WHERE run_id = ?) r LEFT JOIN calls c ON c.key = r.key
            """,
            (info.run_id,),
        ).fetchone()
        rows.append(
            (
                info.run_id,
                info.name,
                info.probe,
                info.status,
                info.started_at,
                info.ended_at,
                requests,
                answered,
                failed,
                requests - answered - failed,
                tokens_in,
                tokens_out,
                _duration(store, info.run_id, info.started_at, info.ended_at),
                info.package_version,
            )
        )
    return pl.DataFrame(rows, schema=_RUNS_SCHEMA, orient="row")


def _duration(store: RunStore, run_id: str, started_at: str, ended_at: str | None) -> float | None:
    if ended_at:
        return (datetime.fromisoformat(ended_at) - datetime.fromisoformat(started_at)).total_seconds()
    (wall,) = store.conn.execute("SELECT SUM(wall_s) FROM stage_runs WHERE run_id = ?", (run_id,)).fetchone()
    return wall
