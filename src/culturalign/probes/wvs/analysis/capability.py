"""Multilingual capability per (model, language): the RQ1 predictor.

Accepts a tidy table (model, language, score) or a benchmark table like the paper's
multilingual_benchmarks.csv (model, benchmark, language, score, ...), whose model labels and
language names are mapped through an aliases file. Scores are 0-100 benchmark results; the
capability is their plain mean per (model, language), divided by 100.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.paths import package_data
from culturalign.tables import read_table

DEFAULT_ALIASES = package_data("paper", "capability_aliases.toml")


def load_aliases(path: str | Path | None = None) -> dict:
    path = Path(path) if path else DEFAULT_ALIASES
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read the capability aliases {path.name}: {exc}") from None
    return {
        "aliases": {k.strip().lower(): v for k, v in data.get("aliases", {}).items()},
        "languages": {k.strip().lower(): v for k, v in data.get("languages", {}).items()},
        "excluded": [b.lower() for b in data.get("excluded", {}).get("benchmarks", [])],
    }


def load_capability(
    path: str | Path, known_models: list[str] | None = None, aliases: str | Path | None = None
) -> pl.DataFrame:
    """Capability per (model, language) in [0, 1] (columns model, language, score)."""
    raw = read_table(path)
    cols = {c.lower(): c for c in raw.columns}
    missing = [c for c in ("model", "language", "score") if c not in cols]
    if missing:
        raise DataError(
            f"{Path(path).name} misses the column(s) {', '.join(missing)}; a capability table needs model, language, score"
        )
    table = raw.rename({cols[c]: c for c in cols if c in ("model", "language", "score", "benchmark")})
    return capability_from_benchmarks(table, known_models, load_aliases(aliases))


def capability_from_benchmarks(table: pl.DataFrame, known_models: list[str] | None, aliases: dict) -> pl.DataFrame:
    alias_map = aliases["aliases"]
    language_map = aliases["languages"]
    known = {m.lower(): m for m in (known_models or [])}

    def model_name(label: str) -> str:
        key = label.strip().lower()
        return known.get(key) or alias_map.get(key) or label.strip()

    def language_code(name: str) -> str:
        key = name.strip().lower()
        return language_map.get(key, key)

    df = table.with_columns(pl.col("score").cast(pl.Float64, strict=False))
    if "benchmark" in df.columns and aliases["excluded"]:
        df = df.filter(~pl.col("benchmark").cast(pl.Utf8).str.to_lowercase().is_in(aliases["excluded"]))
    df = df.filter(pl.col("score").is_not_null() & pl.col("score").is_not_nan() & pl.col("model").is_not_null())
    df = df.with_columns(
        pl.col("model").cast(pl.Utf8).map_elements(model_name, return_dtype=pl.Utf8),
        pl.col("language").cast(pl.Utf8).map_elements(language_code, return_dtype=pl.Utf8),
    )
    if df.is_empty():
        raise DataError("the capability table has no usable scores (model, language, score)")
    if df["score"].max() > 100 or df["score"].min() < 0:
        raise DataError("capability scores must be benchmark results between 0 and 100 (or shares between 0 and 1)")
    # a table whose every score is at most 1 already holds shares
    scale = 1.0 if df["score"].max() <= 1.0 else 100.0
    return (
        df.group_by("model", "language").agg((pl.col("score").mean() / scale).alias("score")).sort("model", "language")
    )
