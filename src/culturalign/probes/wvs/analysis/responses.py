"""The response table every analysis starts from: one row per kept model response with its VPS.

Imported tables use the column names of the paper's released table; inside the analysis the
columns are renamed to short ones (model, family, language, response_language, item, vps).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.tables import read_table

IMPORT_COLUMNS = {
    "model_name": "model",
    "model_family": "family",
    "language": "language",
    "response_language": "response_language",
    "question_key": "item",
    "response_pro_score": "vps",
}
RESPONSE_SCHEMA = {
    "model": pl.Utf8,
    "family": pl.Utf8,
    "language": pl.Utf8,
    "response_language": pl.Utf8,
    "item": pl.Utf8,
    "vps": pl.Float64,
}


def load_response_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV/Parquet response table in the released layout; extra columns are ignored."""
    path = Path(path)
    raw = read_table(path)
    missing = [c for c in IMPORT_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path.name} misses the column(s) {', '.join(missing)}; a response table needs {', '.join(IMPORT_COLUMNS)}"
        )
    return normalise_responses(raw.select(list(IMPORT_COLUMNS)).rename(IMPORT_COLUMNS), source=path.name)


def normalise_responses(df: pl.DataFrame, source: str = "the response table") -> pl.DataFrame:
    """Cast, lower-case item keys and language codes, and reject scores outside [0, 1]."""
    missing = [c for c in RESPONSE_SCHEMA if c not in df.columns]
    if missing:
        raise DataError(f"{source} misses the column(s) {', '.join(missing)}")
    try:
        out = df.select(
            pl.col("model").cast(pl.Utf8),
            pl.col("family").cast(pl.Utf8).fill_null("unknown"),
            pl.col("language").cast(pl.Utf8).str.strip_chars().str.to_lowercase(),
            pl.col("response_language").cast(pl.Utf8).str.strip_chars().str.to_lowercase(),
            pl.col("item").cast(pl.Utf8).str.strip_chars().str.to_lowercase(),
            pl.col("vps").cast(pl.Float64, strict=True),
        )
    except pl.exceptions.InvalidOperationError:
        raise DataError(f"{source}: response_pro_score must be numbers between 0 and 1") from None
    if out.is_empty():
        raise DataError(f"{source} has no rows; it needs one row per scored model response")
    for column in ("model", "language", "item"):
        nulls = out[column].null_count()
        if nulls:
            raise DataError(f"{source}: {nulls} row(s) have no {column}; fill or drop them")
    out = out.filter(pl.col("vps").is_not_null() & pl.col("vps").is_not_nan())
    bad = out.filter((pl.col("vps") < 0) | (pl.col("vps") > 1)).height
    if bad:
        raise DataError(f"{source}: {bad} response_pro_score value(s) lie outside [0, 1]; a VPS is a share")
    if out.is_empty():
        raise DataError(f"{source} has no scored responses (every response_pro_score is empty)")
    return out


def keep_prompt_language(df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Keep responses written in the prompt's language; return them and how many were dropped."""
    kept = df.filter(pl.col("response_language").is_null() | (pl.col("response_language") == pl.col("language")))
    return kept, df.height - kept.height
