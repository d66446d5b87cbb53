"""Numbers about runs, before and after: the dry-run estimate, the end-of-run summary
table, the list of runs in a store and the Parquet export. Library functions; the CLI
(`culturalign run --dry-run`, `culturalign runs`, `culturalign runs export`) only calls them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from culturalign.engine.runner import Request
from culturalign.errors import DataError
from culturalign.models.ratelimit import DEFAULT_OUTPUT_TOKENS, approx_tokens
from culturalign.store.batches import batches_in_flight
from culturalign.store.db import RunStore
from culturalign.store.stats import runs_overview, stage_summary
from culturalign.tables import write_table

DEFAULT_STORE_DIR = Path("culturalign-runs")


# -- before a run -------------------------------------------------------------------------
def estimate(
    requests: Sequence[Request], followups_per_request: float = 0.0, store: RunStore | None = None
) -> pl.DataFrame:
    """Calls, tokens and cost per model for a list of requests, without asking anything.

    Distinct requests only (the store key decides). With `store`, requests whose answer is
    already stored are counted as cached and left out of calls, tokens and cost.
    `followups_per_request` adds that many further calls per asked request (e.g. judge calls
    per generated answer) of the same model and size. Input tokens are estimated at four
    characters per token; output tokens are each request's max_tokens (or
    DEFAULT_OUTPUT_TOKENS when unset), so they are an upper bound. Cost is null for a model
    without prices.
    """
    unique = {r.key: r for r in requests}
    cached = store.answered_keys(list(unique)) if store is not None else set()
    rows: dict[str, dict] = {}
    for key, request in unique.items():
        spec = request.model
        row = rows.setdefault(
            spec.name,
            {
                "model": spec.name,
                "backend": spec.backend,
                "requests": 0,
                "cached": 0,
                "_in": 0,
                "_out": 0,
                "_spec": spec,
            },
        )
        row["requests"] += 1
        if key in cached:
            row["cached"] += 1
            continue
        row["_in"] += sum(approx_tokens(m.content) for m in request.messages)
        row["_out"] += request.params.max_tokens or DEFAULT_OUTPUT_TOKENS
    records = []
    factor = 1.0 + followups_per_request
    for row in rows.values():
        spec = row["_spec"]
        asked = row["requests"] - row["cached"]
        tokens_in = round(row["_in"] * factor)
        tokens_out = round(row["_out"] * factor)
        cost = spec.cost_usd(tokens_in, tokens_out)
        records.append(
            {
                "model": row["model"],
                "backend": row["backend"],
                "requests": row["requests"],
                "cached": row["cached"],
                "calls": round(asked * factor),
                "input_tokens_est": tokens_in,
                "output_tokens_max": tokens_out,
                "cost_usd_est": cost,
            }
        )
    schema = {
        "model": pl.Utf8,
        "backend": pl.Utf8,
        "requests": pl.Int64,
        "cached": pl.Int64,
        "calls": pl.Int64,
        "input_tokens_est": pl.Int64,
        "output_tokens_max": pl.Int64,
        "cost_usd_est": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema)


# -- after a run --------------------------------------------------------------------------
def run_summary(store: RunStore, run_id: str) -> pl.DataFrame:
    """Per stage and model: requests, cached, asked, answered, failed by reason, retries, tokens, time."""
    return stage_summary(store, run_id)


def model_prices(config: dict) -> dict[str, tuple[float | None, float | None]]:
    """USD per million input and output tokens of every model a run's config names (models, judges, translator)."""
    specs = list(config.get("models") or []) + list(config.get("judges") or [])
    probe_section = config.get(str(config.get("probe")))
    if isinstance(probe_section, dict) and isinstance(probe_section.get("translator"), dict):
        specs.append(probe_section["translator"])
    return {
        str(s.get("name")): (s.get("price_input_per_mtok"), s.get("price_output_per_mtok"))
        for s in specs
        if isinstance(s, dict)
    }


def run_usage(store: RunStore, run_id: str) -> pl.DataFrame:
    """The run summary plus `cost_usd` per stage and model: the tokens of the answers the run holds at
    the prices its config sets (null without prices). An answer reused from the cache was paid
    for when it was first asked."""
    df = run_summary(store, run_id)
    prices = model_prices(store.run(run_id).config)
    costs: list[float | None] = []
    for row in df.iter_rows(named=True):
        price_in, price_out = prices.get(row["model"], (None, None))
        if price_in is None and price_out is None:
            costs.append(None)
            continue
        tokens_in, tokens_out = row["input_tokens"] or 0, row["output_tokens"] or 0
        costs.append((tokens_in * (price_in or 0.0) + tokens_out * (price_out or 0.0)) / 1e6)
    return df.with_columns(pl.Series("cost_usd", costs, dtype=pl.Float64))


def total_cost(usage: pl.DataFrame) -> float | None:
    priced = usage["cost_usd"].drop_nulls() if "cost_usd" in usage.columns else pl.Series([], dtype=pl.Float64)
    return float(priced.sum()) if priced.len() else None


# -- stores on disk -------------------------------------------------------------------------
def find_stores(path: str | Path | None = None) -> list[Path]:
    """A store file, or every *.sqlite in a folder (default ./culturalign-runs)."""
    target = Path(path) if path is not None else DEFAULT_STORE_DIR
    if target.is_file():
        return [target]
    if target.is_dir():
        stores = sorted(target.glob("*.sqlite"))
        if stores:
            return stores
        raise DataError(f"no run stores (*.sqlite) in {target}; give the store file of a run")
    raise DataError(f"run store {target} does not exist; give the store file of a run (see `store` in the experiment)")


def open_existing_store(path: str | Path) -> RunStore:
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"run store {path} does not exist; give the store file of a run (see `store` in the experiment)"
        )
    return RunStore(path)


def list_runs(path: str | Path | None = None) -> pl.DataFrame:
    """Every run in one store or a folder of stores: status, counts, tokens, duration."""
    frames = []
    for store_path in find_stores(path):
        with open_existing_store(store_path) as store:
            overview = runs_overview(store)
            costs = [total_cost(run_usage(store, run_id)) for run_id in overview["run_id"]]
            in_flight = [batches_in_flight(store, run_id) for run_id in overview["run_id"]]
            frames.append(
                overview.with_columns(
                    pl.lit(str(store_path)).alias("store"),
                    pl.Series("cost_usd", costs, dtype=pl.Float64),
                    pl.Series("batches_in_flight", in_flight, dtype=pl.Int64),
                )
            )
    return pl.concat(frames, how="vertical")


def export_run(store_path: str | Path, run_id: str | None, output: str | Path) -> Path:
    """Write every request of a run (latest run without an id) with its answer to Parquet or CSV,
    beside what later stages derived from it (e.g. parse_kept, judge_vps): each stage's plain
    result fields, prefixed with the stage's name."""
    with open_existing_store(store_path) as store:
        info = store.run(run_id)
        df = store.export_calls(info.run_id)
        derived = [(stage, store.results(info.run_id, stage)) for stage in store.result_stages(info.run_id)]
    if df.is_empty():
        raise DataError(f"run {info.run_id} has no requests to export")
    for stage, results in derived:
        # Lists and records (e.g. the interview summaries) stay in the store: a CSV cell cannot hold them.
        plain = [c for c, t in results.schema.items() if c != "key" and not t.is_nested()]
        if plain:
            df = df.join(results.select("key", *[pl.col(c).alias(f"{stage}_{c}") for c in plain]), on="key", how="left")
    return write_table(df.with_columns(pl.lit(info.run_id).alias("run_id")), output)
