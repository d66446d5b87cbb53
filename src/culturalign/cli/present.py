"""Everything the command line shows: consoles, tables and one-line summaries.

Library functions return data (DataFrames, results); only the CLI prints, through these
helpers, so output formats live in one place.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import polars as pl
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from culturalign.compare.run import CompareResult
from culturalign.engine.summary import total_cost
from culturalign.probes.registry import AnalysisSummary, ParseCounts, ReportResult, StageResult

# Logs and pipes get wide tables rather than columns cut to 80 characters.
console = Console(width=None if sys.stdout.isatty() else 160)


def frame_text(df: pl.DataFrame, *, every_row: bool = False, wide: bool = False) -> str:
    """A DataFrame as polars prints it; `every_row` without the row limit or the shape line,
    `wide` with up to 20 columns in 200 characters. Polars' settings change for this call only."""
    options: dict[str, object] = {}
    if every_row:
        options.update(tbl_rows=-1, tbl_hide_dataframe_shape=True)
    if wide:
        options.update(tbl_cols=20, tbl_width_chars=200)
    with pl.Config(**options):
        return str(df)


def frame_table(df: pl.DataFrame, title: str) -> Table:
    """Any small table, numbers right-aligned with four decimals."""
    table = Table(title=title, show_lines=False)
    for column in df.columns:
        table.add_column(column, justify="right" if df.schema[column].is_numeric() else "left")
    for row in df.iter_rows():
        table.add_row(*("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    return table


def kept_line(counts: ParseCounts) -> str:
    reasons = [f"{k} {v}" for k, v in counts.dropped_by_reason.items() if v]
    return (
        f"Responses: {counts.kept} kept of {counts.parsed}; "
        f"dropped {counts.dropped}{' (' + ', '.join(reasons) + ')' if reasons else ''}"
    )


# -- runs ------------------------------------------------------------------------------------
def print_estimate(estimate: pl.DataFrame, cost: float | None, batch_cost: float | None) -> None:
    console.print(estimate_table(estimate, "Dry run: calls, tokens and cost (nothing was asked)"))
    console.print(
        f"Estimated cost: {'$' + format(cost, '.2f') if cost is not None else 'no prices configured'}"
        " (output tokens are an upper bound: max_tokens per call; stages that depend on earlier answers,"
        " such as judging, are counted as if every answer were kept)."
    )
    if batch_cost is not None:
        console.print(f"Through the Batch API (openai models): ${batch_cost:.2f}")


def print_run(usage: pl.DataFrame, endpoints: pl.DataFrame, run_id: str, results: Mapping[str, StageResult]) -> None:
    """What a run did (per stage and model, per endpoint), what it cost, how many answers were kept,
    the analysis' notes, the report."""
    console.print(summary_table(usage, run_id))
    spread = endpoints_table(endpoints)
    if spread is not None:
        console.print(spread)
    spent = total_cost(usage)
    if spent is not None:
        console.print(f"Cost: ${spent:,.4f} at the prices the experiment sets (answers reused from the cache included)")
    parsed = results.get("parse")
    if isinstance(parsed, ParseCounts):
        console.print(kept_line(parsed))
    analysed = results.get("analyze")
    if isinstance(analysed, AnalysisSummary):
        for note in analysed.notes:
            console.print(f"Note: {escape(str(note))}", highlight=False)
    report = results.get("report")
    if isinstance(report, ReportResult):
        console.print(f"Report: {report.path}")


# -- run stores ------------------------------------------------------------------------------
def estimate_table(df: pl.DataFrame, title: str = "Dry run: what this run would ask") -> Table:
    staged = "stage" in df.columns
    batched = "cost_usd_batch_est" in df.columns and df["cost_usd_batch_est"].drop_nulls().len() > 0
    table = _table(
        title,
        [
            *(["stage"] if staged else []),
            "model",
            "backend",
            "requests",
            "cached",
            "calls",
            "input tokens (est.)",
            "output tokens (max)",
            "cost USD (est.)",
            *(["batch API USD (est.)"] if batched else []),
        ],
    )
    for row in df.iter_rows(named=True):
        cost = "no price set" if row["cost_usd_est"] is None else f"{row['cost_usd_est']:.4f}"
        batch_cost = (
            [] if not batched else ["" if row["cost_usd_batch_est"] is None else f"{row['cost_usd_batch_est']:.4f}"]
        )
        table.add_row(
            *([row["stage"]] if staged else []),
            row["model"],
            row["backend"],
            _int(row["requests"]),
            _int(row["cached"]),
            _int(row["calls"]),
            _int(row["input_tokens_est"]),
            _int(row["output_tokens_max"]),
            cost,
            *batch_cost,
        )
    return table


def summary_table(df: pl.DataFrame, run_id: str) -> Table:
    """`engine.summary.run_usage` of a run, as the console shows it after the run."""
    table = _table(
        f"Run {run_id}",
        [
            "stage",
            "model",
            "req",
            "cached",
            "asked",
            "ok",
            "failed",
            "failures by reason",
            "retries",
            "tok in",
            "tok out",
            "cost USD",
            "time s",
        ],
    )
    for row in df.iter_rows(named=True):
        table.add_row(
            row["stage"],
            row["model"],
            _int(row["requests"]),
            _int(row["cached"]),
            _int(row["asked"]),
            _int(row["answered"]),
            _int(row["failed"]),
            row["failed_by_reason"] or "",
            _int(row["retries"]),
            _int(row["input_tokens"]),
            _int(row["output_tokens"]),
            _usd(row["cost_usd"]),
            _secs(row["wall_s"]),
        )
    return table


def endpoints_table(df: pl.DataFrame) -> Table | None:
    """`store.stats.endpoint_summary`: how each multi-endpoint model's requests spread over its
    endpoints (None if none had several)."""
    if df.is_empty():
        return None
    table = _table("Endpoints", ["stage", "model", "endpoint", "ok", "failed attempts", "by reason", "rests"])
    for row in df.iter_rows(named=True):
        table.add_row(
            row["stage"],
            row["model"],
            row["endpoint"],
            _int(row["answered"]),
            _int(row["failed_attempts"]),
            row["failed_by_reason"],
            _int(row["rests"]),
        )
    return table


def runs_table(df: pl.DataFrame) -> Table:
    in_flight = "batches_in_flight" in df.columns and bool(df["batches_in_flight"].fill_null(0).sum())
    table = _table(
        "Runs",
        [
            "store",
            "run",
            "name",
            "probe",
            "status",
            "started",
            "requests",
            "answered",
            "failed",
            "missing",
            "tokens in",
            "tokens out",
            "cost USD",
            "time s",
            *(["batches in flight"] if in_flight else []),
        ],
    )
    for row in df.iter_rows(named=True):
        table.add_row(
            Path(row["store"]).name,
            row["run_id"],
            row["name"],
            row["probe"],
            row["status"],
            row["started_at"][:19],
            _int(row["requests"]),
            _int(row["answered"]),
            _int(row["failed"]),
            _int(row["missing"]),
            _int(row["input_tokens"]),
            _int(row["output_tokens"]),
            _usd(row["cost_usd"]),
            _secs(row["duration_s"]),
            *([_int(row["batches_in_flight"])] if in_flight else []),
        )
    return table


def _table(title: str, columns: list[str]) -> Table:
    # A light frame: the summary must stay readable in an 80-100 column terminal or CI log.
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in columns:
        text = name in _TEXT_COLUMNS
        # Labels may wrap; numbers never do (a wrapped number misreads as two).
        table.add_column(
            name,
            justify="left" if text else "right",
            no_wrap=not text or name in _UNBROKEN,
            overflow="fold",
            min_width=min(len(name), 8) if text else None,
        )
    return table


_TEXT_COLUMNS = frozenset(
    {"stage", "model", "backend", "store", "run", "name", "probe", "status", "started", "failures by reason"}
)


# Identifiers a reader copies into a command: never broken over lines.
_UNBROKEN = frozenset({"run", "status"})


def _int(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _usd(value: float | None) -> str:
    return "no price" if value is None else f"{value:,.4f}"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


# -- compare -----------------------------------------------------------------------------------
def print_compare(result: CompareResult) -> None:
    """The best entry per cell, how many share that place, and the run-to-run verdicts."""
    console = Console()  # the terminal's width, as compare has always printed
    for r in result.leaderboard.filter(pl.col("rank") == 1).iter_rows(named=True):
        tied = result.leaderboard.filter(
            (pl.col("probe") == r["probe"])
            & (pl.col("cell") == r["cell"])
            & (pl.col("marker") == "not distinguishable from the best")
        ).height
        interval = "" if r["ci_low"] is None else f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        console.print(
            f"{r['probe']} {r['cell']}: best {r['entry']} {r['estimate']:.3f}{interval}, n = {r['n']} {r['unit']}s; "
            f"{tied} not distinguishable from it (paired bootstrap, Holm)",
            highlight=False,
            markup=False,
        )
    if result.diff is not None:
        counts = result.diff.group_by("verdict").len().sort("verdict")
        console.print(
            "run-to-run changes: " + ", ".join(f"{v} {n}" for v, n in counts.iter_rows()), highlight=False, markup=False
        )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
