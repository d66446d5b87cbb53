"""Survey ground truth (Eq. 1): value polarity scores from a respondent file.

Reads only the needed columns of a CSV, SPSS .sav or Stata .dta file, weights each respondent
by the product of the weight columns (gwght x pwght by default), drops answers at or below
the missing threshold, and aggregates per population: country, interview language, global,
and any user grouping (e.g. country + language).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from culturalign import tables
from culturalign.errors import DataError, UserError
from culturalign.languages import normalise_language_column
from culturalign.probes.wvs.sources.codebook import CODINGS, Codebook, Coding, Item
from culturalign.probes.wvs.sources.groundtruth import GLOBAL_POPULATION, GT_SCHEMA, GroundTruth, as_tidy

SURVEY_SUFFIXES = (".csv", ".sav", ".zsav", ".dta")
DEFAULT_LEVELS: tuple[tuple[str, ...], ...] = (("country",), ("language",), ())
_WEIGHT = "__weight"
_DIMENSION_ALIASES = ("country", "language")


@dataclass(frozen=True)
class SurveyColumns:
    """Survey column names for the population dimensions and the weights."""

    country: str = "cntry_AN"
    language: str = "lnge_iso"
    weights: tuple[str, ...] = ("gwght", "pwght")


def parse_levels(spec: str) -> list[tuple[str, ...]]:
    """'country,language,global,country+language' -> [(country,), (language,), (), (country, language)]."""
    levels: list[tuple[str, ...]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        levels.append(
            () if part.lower() == GLOBAL_POPULATION else tuple(d.strip() for d in part.split("+") if d.strip())
        )
    if not levels:
        raise UserError(f"no population level in {spec!r}; use e.g. country,language,global or country+language")
    return levels


def level_name(level: Sequence[str]) -> str:
    return " x ".join(level) if level else GLOBAL_POPULATION


def _survey_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SURVEY_SUFFIXES:
        raise DataError(f"{path.name} is not a survey file: expected a .csv, .sav or .dta respondent file")
    return suffix


def survey_header(path: Path) -> list[str]:
    """Column names of a survey file, without reading its rows."""
    if not path.is_file():
        raise DataError(f"survey file not found: {path}")
    suffix = _survey_format(path)
    try:
        if suffix == ".csv":
            return pl.read_csv(path, n_rows=0, infer_schema_length=0).columns
        import pyreadstat

        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        _, meta = reader(str(path), metadataonly=True)
        return list(meta.column_names)
    except Exception as exc:  # readers raise many types for a file that is not what it claims
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"{path.name} is not a readable survey file ({first}); give a CSV, SPSS .sav or Stata .dta file"
        ) from None


def _resolve_columns(header: list[str], wanted: list[str], path: Path) -> dict[str, str]:
    """Map each wanted name to the file's column, ignoring case; name every missing one."""
    by_lower = {c.lower(): c for c in header}
    missing = [w for w in wanted if w.lower() not in by_lower]
    if missing:
        raise DataError(f"{path.name} misses the column(s) {', '.join(missing)}; remap them with the column options")
    return {w: by_lower[w.lower()] for w in wanted}


def read_survey(path: str | Path, columns: list[str], numeric: Sequence[str] = ()) -> pl.DataFrame:
    """Only `columns` of a survey file (names matched ignoring case, returned as asked).
    Columns named in `numeric` are read from CSV as floats, whatever the first rows look like."""
    path = Path(path)
    mapping = _resolve_columns(survey_header(path), columns, path)
    actual = list(dict.fromkeys(mapping.values()))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Fixing the type of every needed column spares a long type inference (answers as
            # floats, anything else as text); scan + select parses only these columns, which
            # read_csv(columns=...) does several times slower.
            wanted_types = {col: (pl.Float64 if name in numeric else pl.String) for name, col in mapping.items()}
            lazy = pl.scan_csv(path, schema_overrides=wanted_types)
            df = lazy.select(actual).collect()
        else:
            import pyreadstat

            reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
            df, _ = reader(str(path), usecols=actual, output_format="polars", disable_datetime_conversion=True)
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(f"cannot read {path.name} as a survey file: {first}") from None
    return df.select(pl.col(col).alias(name) for name, col in mapping.items())


def _weight_expr(df: pl.DataFrame, weights: Sequence[str], path_name: str) -> pl.Expr:
    """Product of the weight columns, after refusing negative, NaN or empty weights."""
    if not weights:
        return pl.lit(1.0)
    for col in weights:
        if not df.schema[col].is_numeric():
            raise DataError(f"weight column {col} in {path_name} is not numeric")
        values = df[col].cast(pl.Float64)
        bad = values.is_null().sum() + values.is_nan().sum()
        if bad:
            raise DataError(
                f"weight column {col} in {path_name} has {bad} missing or NaN value(s); every respondent needs a weight"
            )
        if (values < 0).any():
            raise DataError(f"weight column {col} in {path_name} has negative values; weights must be >= 0")
    product = pl.lit(1.0)
    for col in weights:
        product = product * pl.col(col).cast(pl.Float64)
    return product


def _observed_max(df: pl.DataFrame, item: Item) -> int | None:
    valid = df[item.key].cast(pl.Float64)
    top = valid.filter(valid > item.missing_at_or_below).max()
    return None if top is None else int(top)


def _answer_sets(df: pl.DataFrame, item: Item, coding: Coding) -> tuple[list[int], list[int]]:
    """(valid answers, pro answers) of one item under the coding."""
    if coding == "explicit":
        top = item.scale.max
        valid = range(max(item.scale.min, item.missing_at_or_below + 1), top + 1)
    else:
        top = _observed_max(df, item) or item.scale.max
        valid = range(item.missing_at_or_below + 1, top + 1)
    valid_set = [a for a in valid if a not in item.missing_codes]
    pro = sorted(item.pro_answers_for(coding, top) & set(valid_set))
    return valid_set, pro


def _indicator_frame(df: pl.DataFrame, items: list[Item], coding: Coding) -> pl.DataFrame:
    """Per respondent and item: weight if answered (a_), weight if pro (p_), answered flag (n_)."""
    exprs: list[pl.Expr] = []
    for item in items:
        if not df.schema[item.key].is_numeric():
            raise DataError(
                f"item column {item.survey_column} holds text, not numeric answer codes; check the survey file"
            )
        valid, pro = _answer_sets(df, item, coding)
        answer = pl.col(item.key).cast(pl.Float64)
        answered = answer.is_in([float(a) for a in valid]).fill_null(False)
        is_pro = answer.is_in([float(a) for a in pro]).fill_null(False)
        exprs += [
            pl.when(answered).then(pl.col(_WEIGHT)).otherwise(0.0).alias(f"a_{item.key}"),
            pl.when(is_pro).then(pl.col(_WEIGHT)).otherwise(0.0).alias(f"p_{item.key}"),
            answered.cast(pl.Int64).alias(f"n_{item.key}"),
        ]
    return df.with_columns(exprs)


def _aggregate(frame: pl.DataFrame, items: list[Item], group_cols: list[str], kind: str) -> pl.DataFrame:
    sums = [pl.col(f"{p}_{i.key}").sum() for i in items for p in ("a", "p", "n")]
    grouped = frame.group_by(group_cols).agg(sums) if group_cols else frame.select(sums)
    if group_cols:
        population = pl.concat_str([pl.col(c).cast(pl.String) for c in group_cols], separator=" x ")
    else:
        population = pl.lit(GLOBAL_POPULATION)
    parts = [
        grouped.select(
            pl.lit(kind).alias("population_kind"),
            population.alias("population"),
            pl.lit(item.key).alias("item"),
            pl.when(pl.col(f"a_{item.key}") > 0).then(pl.col(f"p_{item.key}") / pl.col(f"a_{item.key}")).alias("vps"),
            pl.col(f"n_{item.key}").alias("n_respondents"),
            pl.col(f"a_{item.key}").alias("weight_sum"),
        )
        for item in items
    ]
    # A population in which nobody answered an item has no VPS for it: drop, do not invent one.
    return as_tidy(pl.concat(parts)).filter((pl.col("n_respondents") > 0) & pl.col("population").is_not_null())


def _dimension_columns(level: Sequence[str], columns: SurveyColumns) -> list[str]:
    names = {"country": columns.country, "language": columns.language}
    return [names.get(d.lower(), d) for d in level]


def build_ground_truth(
    survey_path: str | Path,
    codebook: Codebook,
    *,
    items: Sequence[str] | None = None,
    country_col: str = "cntry_AN",
    language_col: str = "lnge_iso",
    weight_cols: Sequence[str] = ("gwght", "pwght"),
    filters: Sequence[Sequence[str]] | None = None,
    levels: Sequence[Sequence[str]] = DEFAULT_LEVELS,
    coding: Coding = "explicit",
    consistency: bool = False,
    consistency_sample: int = 10,
    consistency_repeats: int = 100,
    seed: int = 0,
) -> GroundTruth:
    """VPS per population and item (Eq. 1) from a respondent file, as the tidy table.

    `levels` are the population levels (a tuple of dimensions; () is global; "country" and
    "language" stand for `country_col` and `language_col`, any other name is a survey column);
    `filters` adds further groupings such as ("country", "language"). With `consistency`, also
    the human self-consistency per country (resampling; see `human_self_consistency`).
    """
    if coding not in CODINGS:
        raise UserError(f"unknown coding {coding!r}; use one of {', '.join(CODINGS)}")
    chosen = codebook.select(list(items) if items else None)
    groupings = [tuple(level) for level in [*levels, *(filters or [])]]
    cols = SurveyColumns(country_col, language_col, tuple(weight_cols))
    dim_cols = list(dict.fromkeys(c for g in groupings for c in _dimension_columns(g, cols)))
    if consistency and cols.country not in dim_cols:
        dim_cols.append(cols.country)
    survey_path = Path(survey_path)
    needed = list(dict.fromkeys([*dim_cols, *cols.weights, *(i.survey_column for i in chosen)]))
    raw = read_survey(survey_path, needed, numeric=[*cols.weights, *(i.survey_column for i in chosen)])
    raw = raw.rename({i.survey_column: i.key for i in chosen if i.survey_column != i.key})
    raw = raw.with_columns(_weight_expr(raw, cols.weights, survey_path.name).alias(_WEIGHT))
    if cols.language in raw.columns:  # "EN", "en-GB" or "eng" in the file: the prompts' "en"
        raw = normalise_language_column(raw, cols.language)
    frame = _indicator_frame(raw.select([*dim_cols, _WEIGHT, *(i.key for i in chosen)]), chosen, coding)
    frame = frame.select([*dim_cols, _WEIGHT, *(f"{p}_{i.key}" for i in chosen for p in ("a", "p", "n"))])
    tables = [_aggregate(frame, chosen, _dimension_columns(g, cols), level_name(g)) for g in groupings]
    vps = pl.concat(tables) if tables else pl.DataFrame(schema=GT_SCHEMA)
    vps = vps.sort("population_kind", "population", "item")
    human = None
    if consistency:
        human = human_self_consistency(frame, chosen, cols.country, consistency_sample, consistency_repeats, seed)
    return GroundTruth(vps=vps, self_consistency=human)


def _draw_without_replacement(rng: np.random.Generator, pools: np.ndarray, size: int, repeats: int) -> np.ndarray:
    """For each pool size n (all > size): `repeats` rows of `size` distinct indices below n.
    Rows holding a repeat are drawn again, which keeps every set of distinct indices equally likely."""
    pools = np.asarray(pools, dtype=np.int64)
    draws = (rng.random((pools.size, repeats, size)) * pools[:, None, None]).astype(np.int64)
    while True:
        ordered = np.sort(draws, axis=2)
        clash = (ordered[:, :, 1:] == ordered[:, :, :-1]).any(axis=2)
        if not clash.any():
            return draws
        which, _ = np.nonzero(clash)
        draws[clash] = (rng.random((which.size, size)) * pools[which][:, None]).astype(np.int64)


def _pairwise_spearman(matrix: np.ndarray) -> np.ndarray:
    """Spearman correlation of every pair of rows (repeats) over the columns (items).
    Ranks with ties sharing their mean rank, in numpy: importing scipy.stats costs seconds."""
    below = (matrix[:, :, None] > matrix[:, None, :]).sum(axis=2)
    equal = (matrix[:, :, None] == matrix[:, None, :]).sum(axis=2)
    ranks = below + (equal + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(ranks)
    upper = np.triu_indices(corr.shape[0], k=1)
    return corr[upper]


def _resampled_vps(
    group: pl.DataFrame, items: list[Item], rng: np.random.Generator, size: int, repeats: int
) -> np.ndarray:
    """(repeats x items) VPS of `size` respondents drawn among those who answered each item;
    an item answered by `size` or fewer takes them all; an item nobody answered is left out."""
    weights, pro_weights, pools = [], [], []
    for item in items:
        answered = group[f"n_{item.key}"].to_numpy() > 0
        if answered.any():
            weights.append(group[f"a_{item.key}"].to_numpy()[answered])
            pro_weights.append(group[f"p_{item.key}"].to_numpy()[answered])
            pools.append(int(answered.sum()))
    pools_arr = np.array(pools, dtype=np.int64)
    vps = np.empty((repeats, len(pools)))
    large = np.nonzero(pools_arr > size)[0]
    if large.size:
        offsets = np.cumsum(np.r_[0, pools_arr[large][:-1]])
        flat_w = np.concatenate([weights[i] for i in large])
        flat_p = np.concatenate([pro_weights[i] for i in large])
        index = _draw_without_replacement(rng, pools_arr[large], size, repeats) + offsets[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            vps[:, large] = (flat_p[index].sum(axis=2) / flat_w[index].sum(axis=2)).T
    for i in np.nonzero(pools_arr <= size)[0]:
        with np.errstate(invalid="ignore", divide="ignore"):
            vps[:, i] = pro_weights[i].sum() / weights[i].sum()
    return vps


def human_self_consistency(
    frame: pl.DataFrame,
    items: list[Item],
    country_col: str,
    sample_size: int = 10,
    repeats: int = 100,
    seed: int = 0,
) -> pl.DataFrame:
    """METHOD §1.2: per country, draw `sample_size` respondents who answered each item (without
    replacement, uniformly), take the weighted VPS; repeat; Spearman between the item vectors of
    every pair of repeats. Reports the mean with its SD over pairs, and how many items entered."""
    rng = np.random.default_rng(seed)
    rows = []
    for (country,), group in sorted(frame.group_by([country_col]), key=lambda kv: str(kv[0][0])):
        matrix = _resampled_vps(group, items, rng, sample_size, repeats)
        matrix = matrix[:, ~np.isnan(matrix).any(axis=0)]
        if matrix.shape[1] < 3:
            continue
        pairs = _pairwise_spearman(matrix)
        pairs = pairs[~np.isnan(pairs)]
        rows.append(
            {
                "population_kind": "country",
                "population": str(country),
                "self_consistency": float(pairs.mean()) if pairs.size else None,
                "sd_over_pairs": float(pairs.std(ddof=1)) if pairs.size > 1 else None,
                "n_pairs": int(pairs.size),
                "n_items": int(matrix.shape[1]),
                "sample_size": sample_size,
                "repeats": repeats,
                "seed": seed,
            }
        )
    schema = {
        "population_kind": pl.String,
        "population": pl.String,
        "self_consistency": pl.Float64,
        "sd_over_pairs": pl.Float64,
        "n_pairs": pl.Int64,
        "n_items": pl.Int64,
        "sample_size": pl.Int64,
        "repeats": pl.Int64,
        "seed": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def split_names(value: str | None) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c']; None or '' -> []."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def check_output_path(path: str | Path) -> Path:
    """Refuse an output name we cannot write before doing any work."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise UserError(f"cannot write {path.name}: the output must end in .csv or .parquet")
    return path


def build_to_files(
    survey_path: str | Path,
    output: str | Path,
    codebook: Codebook,
    *,
    consistency_output: str | Path | None = None,
    **options,
) -> GroundTruth:
    """`build_ground_truth` and write its tables (atomically: a failure leaves no output file)."""
    output = check_output_path(output)
    if consistency_output is not None:
        consistency_output = check_output_path(consistency_output)
    result = build_ground_truth(survey_path, codebook, consistency=consistency_output is not None, **options)
    tables.write_table(result.vps, output)
    if consistency_output is not None and result.self_consistency is not None:
        tables.write_table(result.self_consistency, consistency_output)
    return result
