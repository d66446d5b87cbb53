"""Ground truth and reference tables as the analysis needs them.

Ground truth comes through `culturalign.probes.wvs.sources.groundtruth` (tidy: population_kind,
population, item, vps, n_respondents, weight_sum). Which countries count as native to a
prompt language is package data: the paper's four languages as in the paper
(data/paper/native_countries.toml), every other language the countries whose respondents were
interviewed in it (data/populations/interview_languages.toml), or, when the ground truth was
built with a "country x language" level, the interview languages counted in the user's file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.paths import package_data
from culturalign.probes.wvs.sources.groundtruth import load_ground_truth, load_human_consistency

LEVELS = ("country", "language", "global")
TRUTH_COLUMNS = ["population_kind", "population", "item", "vps"]


def load_truth(path_or_dir: str | Path) -> pl.DataFrame:
    """The tidy ground truth (lower-case items), as the ground-truth sources read it."""
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


def human_consistency(path_or_dir: str | Path | None) -> pl.DataFrame:
    """Human self-consistency per population (resampled survey respondents)."""
    df = load_human_consistency(path_or_dir)
    if "population" not in df.columns or "self_consistency" not in df.columns:
        raise DataError("the human self-consistency table needs the columns population, self_consistency")
    return df.select(pl.col("population").cast(pl.Utf8), pl.col("self_consistency").cast(pl.Float64))


@cache
def _native_config() -> dict:
    with open(package_data("paper", "native_countries.toml"), "rb") as fh:
        return tomllib.load(fh)


@cache
def _interview_languages() -> dict[str, list[str]]:
    with open(package_data("populations", "interview_languages.toml"), "rb") as fh:
        return {lang: list(countries) for lang, countries in tomllib.load(fh)["languages"].items()}


PAPER_LANGUAGES = ("da", "en", "nl", "pt")
INTERVIEW_LEVEL = "country x language"
MIN_INTERVIEW_SHARE = 0.1  # a country counts for a language when a tenth of its respondents used it


def native_countries(truth: pl.DataFrame | None = None) -> dict[str, list[str]]:
    """Prompt language -> countries native to it (the comparison country excluded).

    The paper's four languages keep the paper's countries; the others come from the package's
    interview-language table, overridden by the interview languages counted in `truth` when it
    has "country x language" populations (built from the user's survey file)."""
    paper = {lang: list(countries) for lang, countries in _native_config()["native"].items()}
    mapping = {**_interview_languages(), **(interview_countries(truth) if truth is not None else {})}
    us = comparison_country()
    return {**{lang: [c for c in countries if c != us] for lang, countries in mapping.items()}, **paper}


def interview_countries(truth: pl.DataFrame) -> dict[str, list[str]]:
    """Language -> countries where at least MIN_INTERVIEW_SHARE of the respondents were
    interviewed in it, from the "country x language" populations of a built ground truth."""
    if "n_respondents" not in truth.columns:
        return {}
    cells = truth.filter(pl.col("population_kind") == INTERVIEW_LEVEL)
    if cells.is_empty():
        return {}
    counts = (
        cells.group_by("population")
        .agg(pl.col("n_respondents").max().alias("n"))
        .with_columns(pl.col("population").str.split_exact(" x ", 1).alias("parts"))
        .unnest("parts")
        .rename({"field_0": "country", "field_1": "language"})
        .drop_nulls(["country", "language", "n"])
        .with_columns((pl.col("n") / pl.col("n").sum().over("country")).alias("share"))
        .filter(pl.col("share") >= MIN_INTERVIEW_SHARE)
    )
    found: dict[str, list[str]] = {}
    for row in counts.sort("language", "country").iter_rows(named=True):
        found.setdefault(str(row["language"]), []).append(str(row["country"]))
    return {lang: countries for lang, countries in found.items() if lang not in PAPER_LANGUAGES}


def coverage_notes(languages: list[str], truth: pl.DataFrame) -> list[str]:
    """One sentence per prompt language whose speakers, or whose native countries, the ground truth lacks."""
    have = set(truth.select(pl.concat_str("population_kind", pl.lit("/"), "population")).to_series().to_list())
    native = native_countries(truth)
    us = comparison_country()
    notes = []
    for language in sorted(languages):
        missing = []
        if f"language/{language}" not in have:
            missing.append(f"its speakers (no population '{language}' of respondents interviewed in {language})")
        countries = native.get(language, [])
        absent = [c for c in countries if f"country/{c}" not in have]
        if not countries:
            missing.append("any native country (none is listed in data/populations/interview_languages.toml)")
        elif absent:
            missing.append(f"native countr{'y' if len(absent) == 1 else 'ies'} {', '.join(absent)}")
        if f"country/{us}" not in have:
            missing.append(f"the comparison country {us}")
        if missing:
            notes.append(
                f"{language}: the ground truth lacks {'; '.join(missing)}: alignment with them is not measured "
                f"(answers, judgements and self-consistency are); build ground truth that has them with "
                f"`culturalign groundtruth build --by country,language,global,country+language`"
            )
    return notes


def comparison_country() -> str:
    return str(_native_config()["comparison"]["country"])
