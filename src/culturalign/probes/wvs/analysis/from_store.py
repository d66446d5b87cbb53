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


# What to change when every response of a run was dropped for one reason.
_DROP_ADVICE = {
    "error": "calls failed; fix the model's settings (key, base_url, model id) and run again: failed calls are asked again",
    "empty": "the model returned empty answers; check max_tokens and the model's stop settings",
    "not_a_list": "the answers are not numbered lists of interviews; use an instruction-tuned model, or "
    'prompt_style = "completion" for a base model',
    "too_few_summaries": "the answers hold fewer interview summaries than [wvs] min_summaries; raise max_tokens "
    "or lower min_summaries",
    "wrong_language": "the model answered in another language than it was asked in; use a model that writes "
    "the prompt languages (the response-language detector's options are [wvs] detector_languages)",
}


def nothing_survived(store: RunStore, run_id: str) -> str | None:
    """Why no response of the run reached the analysis, in one sentence with what to fix; None when some did."""
    generated = store.requests_with_meta(run_id, GENERATE)
    if generated.is_empty():
        return f"run {run_id} has no generated responses: nothing was asked; check --limit and the [wvs] settings"
    answered = generated.filter(pl.col("error").is_null() & pl.col("response").is_not_null()).height
    errors = generated["error"].drop_nulls()
    if answered == 0 and errors.len():
        reason, n = _most_common(errors)
        return (
            f"all {generated.height} generation calls failed (most often, {n} times: {reason}); "
            "fix the model's settings (key, base_url, model id) and run again: failed calls are asked again"
        )
    parsed = store.results(run_id, PARSE)
    if parsed.is_empty() or "kept" not in parsed.columns:
        return None  # not parsed yet: the analysis says so itself
    kept = parsed.filter(pl.col("kept").fill_null(False))
    if kept.is_empty():
        reasons = parsed["reason"].drop_nulls() if "reason" in parsed.columns else pl.Series([], dtype=pl.Utf8)
        counts = reasons.value_counts(sort=True).rows() if reasons.len() else []
        listed = ", ".join(f"{r} {n}" for r, n in counts) or "no reason recorded"
        advice = _DROP_ADVICE.get(str(counts[0][0]), "") if counts else ""
        return f"{parsed.height} answers, all dropped by the parser ({listed}); {advice}".rstrip("; ")
    judged = store.results(run_id, JUDGE)
    if "vps" not in judged.columns or judged.filter(pl.col("vps").is_not_null()).is_empty():
        failures = judged["failure"].drop_nulls() if "failure" in judged.columns else pl.Series([], dtype=pl.Utf8)
        detail = ""
        if failures.len():
            reason, n = _most_common(failures)
            detail = f" (most often, {n} times: {reason})"
        return (
            f"{kept.height} kept responses, none with a defined VPS after judging{detail}; "
            "check the judge (docs/judge.md), or ask more interviewees per prompt so that some take a side"
        )
    return None


def _most_common(texts: pl.Series) -> tuple[str, int]:
    value, n = texts.value_counts(sort=True).row(0)
    return " ".join(str(value).split())[:160], int(n)
