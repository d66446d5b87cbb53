"""Ground truth and reference tables as the analysis needs them.

Ground truth comes through `culturalign.probes.wvs.sources.groundtruth` (tidy: population_kind,
population, item, vps, n_respondents, weight_sum). Which countries count as native to a
prompt language is package data (data/paper/native_countries.toml).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.paths import package_data

LEVELS = ("country", "language", "global")
TRUTH_COLUMNS = ["population_kind", "population", "item", "vps"]


def load_truth(path_or_dir: str | Path) -> pl.DataFrame:
    """The tidy ground truth (lower-case items), as the ground-truth sources read it."""
    from culturalign.probes.wvs.sources.groundtruth import load_ground_truth

    return tidy_truth(load_ground_truth(path_or_dir))


def tidy_truth(df: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in TRUTH_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"the ground truth misses the column(s) {', '.join(missing)}")
    out = df.with_columns(
        pl.col("population_kind").cast(pl.Utf8),
        pl.col("population").cast(pl.Utf8),
        pl.col("item").cast(pl.Utf8).str.to_lowercase(),
        pl.col("vps").cast(pl.Float64),
    ).filter(pl.col("vps").is_not_null() & pl.col("vps").is_not_nan())
    for extra in ("n_respondents", "weight_sum"):
        if extra not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(extra))
    out = out.unique(subset=["population_kind", "population", "item"], keep="first", maintain_order=True)
    if out.is_empty():
        raise DataError("the ground truth has no usable rows (population, item, vps)")
    return out.select([*TRUTH_COLUMNS, "n_respondents", "weight_sum"])


def load_human_consistency(path_or_dir: str | Path | None) -> pl.DataFrame:
    """Human self-consistency per population (resampled survey respondents)."""
    from culturalign.probes.wvs.sources.groundtruth import load_human_consistency as _load

    df = _load(path_or_dir)
    if "population" not in df.columns or "self_consistency" not in df.columns:
        raise DataError("the human self-consistency table needs the columns population, self_consistency")
    return df.select(pl.col("population").cast(pl.Utf8), pl.col("self_consistency").cast(pl.Float64))


@cache
def _native_config() -> dict:
    with open(package_data("paper", "native_countries.toml"), "rb") as fh:
        return tomllib.load(fh)


def native_countries() -> dict[str, list[str]]:
    """Prompt language -> countries where it is native (excluding the comparison country)."""
    return {lang: list(countries) for lang, countries in _native_config()["native"].items()}


def comparison_country() -> str:
    return str(_native_config()["comparison"]["country"])
