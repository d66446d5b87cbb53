"""The response table of a `wvs` run, read back from the run store.

generate requests carry model, family, language and item in their metadata; the parse stage
says which responses were kept and in which language they were written; the judge stage
holds each kept response's VPS. A response enters the analysis when it was kept and judged
with a defined VPS.
"""

from __future__ import annotations

import polars as pl

from culturalign.errors import DataError
from culturalign.probes.wvs.analysis.responses import normalise_responses
from culturalign.store.db import RunStore

GENERATE, PARSE, JUDGE = "generate", "parse", "judge"


def _column(df: pl.DataFrame, name: str, dtype: pl.DataType = pl.Utf8) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype=dtype).alias(name)


def responses_from_store(store: RunStore, run_id: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """The run's scored responses (analysis layout) and counts of what was left out and why."""
    generated = store.requests_with_meta(run_id, GENERATE)
    if generated.is_empty():
        raise DataError(f"run {run_id} has no generated responses; run its generate stage first")
    parsed = store.results(run_id, PARSE)
    judged = store.results(run_id, JUDGE)
    if parsed.is_empty() or judged.is_empty():
        raise DataError(f"run {run_id} has no parse or judge results yet; run those stages before the analysis")
    meta = generated.select(
        "key",
        _column(generated, "model"),
        _column(generated, "family"),
        _column(generated, "language"),
        _column(generated, "item"),
    )
    parse = parsed.select("key", _column(parsed, "kept", pl.Boolean), _column(parsed, "response_language"))
    judge = judged.select("key", _column(judged, "vps", pl.Float64))
    table = meta.join(parse, on="key", how="inner").join(judge, on="key", how="left")
    counts = {
        "generated": generated.height,
        "parsed": table.height,
        "dropped_by_parser": table.filter(~pl.col("kept").fill_null(False)).height,
        "no_vps": table.filter(pl.col("kept").fill_null(False) & pl.col("vps").is_null()).height,
    }
    kept = table.filter(pl.col("kept").fill_null(False) & pl.col("vps").is_not_null())
    if kept.is_empty():
        raise DataError(f"run {run_id} has no kept response with a defined VPS; nothing to analyse")
    kept = kept.with_columns(
        pl.coalesce(pl.col("response_language"), pl.col("language")).alias("response_language"),
        pl.coalesce(pl.col("family"), pl.lit("unknown")).alias("family"),
    )
    counts["analysed"] = kept.height
    return normalise_responses(kept.drop("key", "kept"), source=f"run {run_id}"), counts
