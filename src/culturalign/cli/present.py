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
def print_estimate(estimate: pl.DataFrame, cost: float | None) -> None:
    console.print(estimate_table(estimate, "Dry run: calls, tokens and cost (nothing was asked)"))
    console.print(
        f"Estimated cost: {'$' + format(cost, '.2f') if cost is not None else 'no prices configured'}"
        " (output tokens are an upper bound: max_tokens per call; judge calls assume every response is kept)."
    )


def print_run(summary: pl.DataFrame, run_id: str, results: Mapping[str, StageResult]) -> None:
    """What a run did (per stage and model), how many answers were kept, the analysis' notes, the report."""
    console.print(summary_table(summary, run_id))
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
    table = _table(
        title,
        [
            "model",
            "backend",
            "requests",
            "cached",
            "calls",
            "input tokens (est.)",
            "output tokens (max)",
            "cost USD (est.)",
        ],
    )
    for row in df.iter_rows(named=True):
        cost = "no price set" if row["cost_usd_est"] is None else f"{row['cost_usd_est']:.4f}"
        table.add_row(
            row["model"],
            row["backend"],
            _int(row["requests"]),
            _int(row["cached"]),
            _int(row["calls"]),
            _int(row["input_tokens_est"]),
            _int(row["output_tokens_max"]),
            cost,
        )
    return table


def summary_table(df: pl.DataFrame, run_id: str) -> Table:
    """`engine.summary.run_summary` of a run, as the console shows it after the run."""
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
            _secs(row["wall_s"]),
        )
    return table


def runs_table(df: pl.DataFrame) -> Table:
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
            "time s",
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
            _secs(row["duration_s"]),
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
            no_wrap=not text,
            overflow="fold",
            min_width=min(len(name), 8) if text else None,
        )
    return table


_TEXT_COLUMNS = frozenset(
    {"stage", "model", "backend", "store", "run", "name", "probe", "status", "started", "failures by reason"}
)


def _int(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"
