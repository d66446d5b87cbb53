"""RQ2: US-centric bias (OLS, docs/methods/wvs.md §W11) and the draw-free US-minus-native gap.

alignment ~ us * model:language with treatment coding: the reference model is the
uniform-random baseline (so the intercept is random guessing) and the reference language
the first in sort order. Rows: country-level alignment per round where the country is the
US or native to the prompt language. The US-bias of model m in language l is the
coefficient of us x m x l, a difference-in-differences against the reference model: it
moves with that baseline's random draw. The model's own US-minus-native gap does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm

from culturalign.errors import DataError
from culturalign.probes.wvs.analysis.baselines import UNIFORM

US_BIAS_COLUMNS = ["model", "language", "coef", "se", "p"]


@dataclass
class OlsFit:
    us_bias: pl.DataFrame  # model, language, coef, se, p (+ ci_low, ci_high)
    params: pl.DataFrame  # every term
    r_squared: float
    n_obs: int
    summary: str


def rq2_rows(country_alignment: pl.DataFrame, native: dict[str, list[str]], us: str = "US") -> pl.DataFrame:
    """Country-level rounds where the population is the US or native to the prompt language."""
    pairs = pl.DataFrame(
        [(lang, country) for lang, countries in native.items() for country in [*countries, us]],
        schema={"language": pl.Utf8, "population": pl.Utf8},
        orient="row",
    )
    rows = country_alignment.filter(pl.col("population_kind") == "country").join(
        pairs, on=["language", "population"], how="inner"
    )
    rows = rows.select(
        "model",
        "family",
        "language",
        "population",
        "round",
        pl.col("value").alias("alignment"),
        (pl.col("population") == us).alias("us"),
    ).filter(pl.col("alignment").is_not_nan())
    # A language compared with the US alone (no native country has ground truth) has no
    # contrast to estimate: its US term would be confounded with its language term.
    both = rows.group_by("language").agg(pl.col("us").any().alias("has_us"), (~pl.col("us")).any().alias("has_native"))
    keep = both.filter(pl.col("has_us") & pl.col("has_native"))["language"]
    return rows.filter(pl.col("language").is_in(keep.implode()))


def rq2_design(rows: pl.DataFrame, reference_model: str) -> tuple[np.ndarray, list[str], list[tuple[str, str] | None]]:
    languages = sorted(rows["language"].unique().to_list())
    models = [reference_model, *sorted(m for m in rows["model"].unique().to_list() if m != reference_model)]
    us = rows["us"].to_numpy().astype(float)
    lang = rows["language"].to_numpy()
    model = rows["model"].to_numpy()
    columns = [np.ones(rows.height), us]
    names = ["Intercept", "us"]
    bias: list[tuple[str, str] | None] = [None, None]
    for language in languages[1:]:
        columns += [(lang == language).astype(float), us * (lang == language)]
        names += [f"language[{language}]", f"us:language[{language}]"]
        bias += [None, None]
    for prefix, factor in (("", None), ("us:", us)):
        for m in models[1:]:
            for language in languages:
                column = ((model == m) & (lang == language)).astype(float)
                if factor is not None:
                    column = column * factor
                if column.any():
                    columns.append(column)
                    names.append(f"{prefix}model[{m}]:language[{language}]")
                    bias.append((m, language) if prefix else None)
    return np.column_stack(columns), names, bias


def fit_rq2(rows: pl.DataFrame, reference_model: str = UNIFORM) -> OlsFit:
    if reference_model not in rows["model"].unique().to_list():
        raise DataError(f"RQ2 needs the reference model {reference_model} among the rows")
    exog, names, bias = rq2_design(rows, reference_model)
    frame = pl.DataFrame({name: exog[:, i] for i, name in enumerate(names)}).to_pandas()
    result = sm.OLS(rows["alignment"].to_numpy(), frame).fit(method="qr")  # QR: far faster than the pinv default here
    params = np.asarray(result.params)
    se = np.asarray(result.bse)
    p = np.asarray(result.pvalues)
    ci = np.asarray(result.conf_int())
    all_terms = pl.DataFrame({"term": names, "coef": params, "se": se, "p": p, "ci_low": ci[:, 0], "ci_high": ci[:, 1]})
    picked = [i for i, b in enumerate(bias) if b is not None]
    terms = [b for b in bias if b is not None]
    us_bias = pl.DataFrame(
        {
            "model": [term[0] for term in terms],
            "language": [term[1] for term in terms],
            "coef": params[picked],
            "se": se[picked],
            "p": p[picked],
            "ci_low": ci[picked, 0],
            "ci_high": ci[picked, 1],
        },
        schema={
            "model": pl.Utf8,
            "language": pl.Utf8,
            "coef": pl.Float64,
            "se": pl.Float64,
            "p": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    ).sort("language", "model")
    return OlsFit(us_bias, all_terms, float(result.rsquared), int(result.nobs), str(result.summary()))


def us_gap_rounds(country_alignment: pl.DataFrame, native: dict[str, list[str]], us: str = "US") -> pl.DataFrame:
    """Per model, language and round: alignment with the US minus the mean over native countries."""
    rows = rq2_rows(country_alignment, native, us)
    per_side = rows.group_by("model", "family", "language", "round", "us").agg(pl.col("alignment").mean())
    us_side = per_side.filter(pl.col("us")).drop("us").rename({"alignment": "us_alignment"})
    native_side = per_side.filter(~pl.col("us")).drop("us").rename({"alignment": "native_alignment"})
    return us_side.join(native_side, on=["model", "family", "language", "round"]).with_columns(
        (pl.col("us_alignment") - pl.col("native_alignment")).alias("gap")
    )


def summarise_us_gap(gap_rounds: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Mean gap with its percentile interval and the share of rounds where the US side is ahead."""
    tail = (1 - level) / 2
    return (
        gap_rounds.group_by("model", "family", "language")
        .agg(
            pl.col("gap").mean().alias("mean"),
            pl.col("gap").quantile(tail, interpolation="linear").alias("ci_low"),
            pl.col("gap").quantile(1 - tail, interpolation="linear").alias("ci_high"),
            (pl.col("gap") > 0).mean().alias("share_us_ahead"),
            pl.len().alias("rounds"),
        )
        .sort("language", "model")
    )
