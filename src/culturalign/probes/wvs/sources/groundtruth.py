"""The tidy ground-truth table and loaders for it (built tables, released tables, the cache).

Tidy layout, one row per (population, item):
population_kind  country | language | global | the name of a user filter
population       e.g. "DK", "da", "global", "DK x da"
item             lower-case item key, e.g. "f118"
vps              weighted share of pro answers among those who answered (Eq. 1)
n_respondents    respondents who answered the item (null in released tables)
weight_sum       sum of their weights (null in released tables)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from culturalign import tables
from culturalign.errors import DataError
from culturalign.probes.wvs.sources.published import fetch_published

GT_COLUMNS = ("population_kind", "population", "item", "vps", "n_respondents", "weight_sum")
GT_SCHEMA: dict[str, pl.DataType] = {
    "population_kind": pl.String(),
    "population": pl.String(),
    "item": pl.String(),
    "vps": pl.Float64(),
    "n_respondents": pl.Int64(),
    "weight_sum": pl.Float64(),
}
GLOBAL_POPULATION = "global"

# The tables released with the paper, by the level they describe.
RELEASED_FILES = {
    "country": "ground_truth_every_country.csv",
    "language": "ground_truth_per_language.csv",
    "global": "ground_truth_global.csv",
}
RELEASED_CONSISTENCY_FILE = "gt_self_consistency.csv"

_COUNTRY_ALIASES = ("cntry_an", "country")
_LANGUAGE_ALIASES = ("lnge_iso", "language")


@dataclass(frozen=True)
class GroundTruth:
    """What `build_ground_truth` returns: the tidy VPS table and, when asked, human self-consistency."""

    vps: pl.DataFrame
    self_consistency: pl.DataFrame | None = None


def empty_ground_truth() -> pl.DataFrame:
    return pl.DataFrame(schema=GT_SCHEMA)


def as_tidy(df: pl.DataFrame) -> pl.DataFrame:
    """Cast to the tidy schema and column order; item keys lower-case."""
    missing = [c for c in ("population_kind", "population", "item", "vps") if c not in df.columns]
    if missing:
        raise DataError(
            f"ground-truth table misses the column(s) {', '.join(missing)}; expected {', '.join(GT_COLUMNS)}"
        )
    for optional in ("n_respondents", "weight_sum"):
        if optional not in df.columns:
            df = df.with_columns(pl.lit(None).alias(optional))
    return df.select(
        pl.col("population_kind").cast(pl.String),
        pl.col("population").cast(pl.String),
        pl.col("item").cast(pl.String).str.to_lowercase(),
        pl.col("vps").cast(pl.Float64),
        pl.col("n_respondents").cast(pl.Int64),
        pl.col("weight_sum").cast(pl.Float64),
    )


def _lower_columns(df: pl.DataFrame) -> pl.DataFrame:
    return df.rename({c: c.lower() for c in df.columns})


def _first_present(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in columns), None)


def normalise_released(df: pl.DataFrame, source: str = "table") -> pl.DataFrame:
    """One released table (question_key, pro_score and a country or language column) -> tidy rows.

    A table with a country column is per country even when it also names the country's
    language; one with only a language column is per language; one with neither is global.
    """
    df = _lower_columns(df)
    if "question_key" not in df.columns or "pro_score" not in df.columns:
        raise DataError(
            f"{source} is not a released ground-truth table: it needs question_key and pro_score columns, it has {', '.join(df.columns)}"
        )
    country = _first_present(df.columns, _COUNTRY_ALIASES)
    language = _first_present(df.columns, _LANGUAGE_ALIASES)
    if country:
        kind, population = pl.lit("country"), pl.col(country).cast(pl.String)
    elif language:
        kind, population = pl.lit("language"), pl.col(language).cast(pl.String)
    else:
        kind, population = pl.lit("global"), pl.lit(GLOBAL_POPULATION)
    tidy = df.select(
        kind.alias("population_kind"),
        population.alias("population"),
        pl.col("question_key").alias("item"),
        pl.col("pro_score").alias("vps"),
    )
    return as_tidy(tidy)


def _read_tidy_or_released(path: Path) -> pl.DataFrame:
    df = tables.read_table(path)
    if {"population_kind", "population", "item", "vps"} <= set(df.columns):
        return as_tidy(df)
    return normalise_released(df, path.name)


def _load_folder(folder: Path) -> pl.DataFrame:
    present = [folder / name for name in RELEASED_FILES.values() if (folder / name).is_file()]
    if not present:
        raise DataError(
            f"{folder} holds none of the released ground-truth tables ({', '.join(RELEASED_FILES.values())}); "
            "pass a tidy table file instead, or run `culturalign groundtruth fetch`"
        )
    return pl.concat([normalise_released(tables.read_table(p), p.name) for p in present], how="vertical")


def _check_unique(df: pl.DataFrame, source: str) -> pl.DataFrame:
    outside = df.filter((pl.col("vps") < 0) | (pl.col("vps") > 1) | pl.col("vps").is_nan())
    if outside.height:
        first = outside.row(0, named=True)
        raise DataError(
            f"{source} has a VPS outside 0-1 ({first['vps']}) for {first['population']} item {first['item']}; a VPS is a share of respondents"
        )
    duplicated = df.select("population_kind", "population", "item").is_duplicated()
    if duplicated.any():
        first = df.filter(duplicated).row(0, named=True)
        raise DataError(
            f"{source} has more than one VPS for {first['population_kind']} {first['population']} item {first['item']}; "
            "keep one row per population and item"
        )
    return df


def load_ground_truth(path: str | Path | None = None) -> pl.DataFrame:
    """The tidy ground-truth table from a tidy CSV/Parquet, a released table, a folder of
    released tables, or (None) the published tables in the user cache, fetched if missing."""
    if path is None:
        folder = fetch_published()
        return _check_unique(_load_folder(folder), "the published ground truth")
    path = Path(path)
    if path.is_dir():
        df = _load_folder(path)
    elif path.is_file():
        df = _read_tidy_or_released(path)
    else:
        raise DataError(
            f"ground truth not found: {path}; pass a table file, a folder of released tables, or nothing to use the published tables"
        )
    return _check_unique(df, str(path))


def load_human_consistency(path_or_dir: str | Path | None = None) -> pl.DataFrame:
    """Human self-consistency per country: columns population, self_consistency (plus the
    uncertainty columns a built table carries). Accepts the released gt_self_consistency.csv,
    a table written by `build`, a folder holding either, or None for the published table."""
    if path_or_dir is None:
        path = fetch_published() / RELEASED_CONSISTENCY_FILE
    else:
        path = Path(path_or_dir)
        if path.is_dir():
            path = path / RELEASED_CONSISTENCY_FILE
    df = _lower_columns(tables.read_table(path))
    population = _first_present(df.columns, ("population", *_COUNTRY_ALIASES))
    if population is None or "self_consistency" not in df.columns:
        raise DataError(
            f"{path.name} is not a self-consistency table: it needs a population (or cntry_AN) and a self_consistency column"
        )
    df = df.rename({population: "population"}) if population != "population" else df
    extras = [c for c in df.columns if c not in ("population", "self_consistency", "population_kind")]
    return df.select(
        pl.col("population").cast(pl.String),
        pl.col("self_consistency").cast(pl.Float64),
        *extras,
    )


def populations(gt: pl.DataFrame, kind: str | None = None) -> list[str]:
    rows = gt if kind is None else gt.filter(pl.col("population_kind") == kind)
    return sorted(rows["population"].unique().to_list())


def select_population(gt: pl.DataFrame, population: str, kind: str | None = None) -> pl.DataFrame:
    """The rows of one population; an unknown name is a DataError listing the known ones."""
    mask = pl.col("population") == population
    if kind is not None:
        mask = mask & (pl.col("population_kind") == kind)
    rows = gt.filter(mask)
    if rows.is_empty():
        known = ", ".join(populations(gt, kind))
        where = f" of kind {kind}" if kind else ""
        raise DataError(f"unknown population {population!r}{where}; the ground truth has: {known}")
    return rows


def require_items(gt: pl.DataFrame, items: list[str]) -> None:
    """Fail when an asked item has no ground truth at all (not per population: gaps are normal)."""
    known = set(gt["item"].unique().to_list())
    unknown = [i for i in items if i.lower() not in known]
    if unknown:
        raise DataError(f"no ground truth for item(s) {', '.join(unknown)}; the table covers {len(known)} items")


def summarise_ground_truth(gt: pl.DataFrame) -> pl.DataFrame:
    """Per population kind: how many populations and items, and the VPS range."""
    return (
        gt.group_by("population_kind")
        .agg(
            pl.col("population").n_unique().alias("populations"),
            pl.col("item").n_unique().alias("items"),
            pl.len().alias("rows"),
            pl.col("vps").min().alias("vps_min"),
            pl.col("vps").max().alias("vps_max"),
        )
        .sort("population_kind")
    )
