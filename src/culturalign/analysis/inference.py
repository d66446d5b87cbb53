"""Inference the default analysis may draw conclusions from.

Fitting a regression on bootstrap rounds as if they were observations gives p-values that
shrink as rounds are added; the paper did that, and `reproduce` keeps it, labelled so. The
default analysis instead uses:

- the bootstrap distribution of a quantity itself (the US-minus-native gap, a paired
  difference): 95% percentile interval and a two-sided bootstrap p-value;
- regressions on one row per independent unit (one model in one language), with classical
  t-tests on n - k degrees of freedom.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

ALPHA = 0.05
GAP_TEST = "percentile bootstrap of the gap over resampled responses; two-sided p = 2 x min((k<=0 + 1), (k>=0 + 1)) / (rounds + 1)"
CAPABILITY_TEST = (
    "OLS per prompt language on one row per model: alignment ~ capability (+ consistency when >= 5 models); t-test"
)


def bootstrap_p(draws: np.ndarray, axis: int = 0) -> np.ndarray:
    """Two-sided bootstrap p-value of "the quantity is 0": twice the smaller tail, at most 1.

    A tail of k of n rounds counts as (k + 1) / (n + 1), so p is never 0: with n rounds the
    smallest p is 2 / (n + 1). Rounds without a value (NaN) are ignored; a quantity with no
    finite round gets NaN."""
    draws = np.asarray(draws, dtype=float)
    finite = np.isfinite(draws)
    n = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = (np.where(finite, draws <= 0, False).sum(axis=axis) + 1) / (n + 1)
        high = (np.where(finite, draws >= 0, False).sum(axis=axis) + 1) / (n + 1)
        p = np.minimum(1.0, 2.0 * np.minimum(low, high))
    return np.where(n > 0, p, np.nan)


def wald_p(point: np.ndarray, draws: np.ndarray, axis: int = 0, n_units: int | None = None) -> np.ndarray:
    """Two-sided p-value of "the quantity is 0" from its bootstrap standard error.

    Unlike a count of rounds, it is not floored at 2 / (rounds + 1), so Holm's correction over
    many comparisons stays usable. With `n_units` (the resampled units) the bootstrap SE, which
    runs small with few units, is scaled by sqrt(n / (n - 1)) and the reference is Student's t on
    n - 1 degrees of freedom; without it, the normal. NaN where the rounds have no spread."""
    from scipy import stats

    draws = np.where(np.isfinite(draws), draws, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(draws, axis=axis, ddof=1)
        if n_units is not None and n_units > 1:
            z = np.abs(np.asarray(point, dtype=float)) / (se * np.sqrt(n_units / (n_units - 1)))
            p = 2 * stats.t.sf(z, n_units - 1)
        else:
            z = np.abs(np.asarray(point, dtype=float)) / se
            p = 2 * stats.norm.sf(z)
    return np.where(se > 0, p, np.nan)


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error); NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not ok.size:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate(np.minimum(1.0, p[order] * (m - np.arange(m))))
    out[order] = adjusted
    return out


def gap_test(gap_rounds: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Per model and language: the US-minus-native gap with its interval, p-value and a verdict.

    `gap_rounds`: model, family, language, round, gap (see analysis.rq2.us_gap_rounds). The
    verdict is "us" (interval above 0), "native" (below 0) or "neither"."""
    tail = (1 - level) / 2
    grouped = gap_rounds.group_by("model", "family", "language", maintain_order=True).agg(pl.col("gap"))
    rows = []
    for row in grouped.iter_rows(named=True):
        draws = np.asarray(row["gap"], dtype=float)
        draws = draws[np.isfinite(draws)]
        if not draws.size:
            continue
        low, high = np.quantile(draws, [tail, 1 - tail])
        p = float(bootstrap_p(draws))
        verdict = "us" if low > 0 else "native" if high < 0 else "neither"
        rows.append({
            "model": row["model"], "family": row["family"], "language": row["language"],
            "mean": float(draws.mean()), "ci_low": float(low), "ci_high": float(high),
            "share_us_ahead": float((draws > 0).mean()), "rounds": int(draws.size), "p": p,
            "more_aligned_with": verdict,
        })  # fmt: skip
    schema = {"model": pl.Utf8, "family": pl.Utf8, "language": pl.Utf8, "mean": pl.Float64, "ci_low": pl.Float64,
              "ci_high": pl.Float64, "share_us_ahead": pl.Float64, "rounds": pl.Int64, "p": pl.Float64,
              "more_aligned_with": pl.Utf8}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row").sort("language", "model")


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Coefficients, standard errors and residual degrees of freedom of y ~ x (x with intercept)."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    resid = y - x @ coef
    sigma2 = resid @ resid / df
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    return coef, np.sqrt(np.clip(np.diag(cov), 0, None)), df


CAPABILITY_COLUMNS = {
    "language": pl.Utf8, "term": pl.Utf8, "coef": pl.Float64, "se": pl.Float64, "t": pl.Float64, "df": pl.Int64,
    "p": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "n_models": pl.Int64, "test": pl.Utf8,
}  # fmt: skip


def capability_effect(
    alignment: pl.DataFrame, consistency: pl.DataFrame | None, capability: pl.DataFrame, level: float = 0.95
) -> pl.DataFrame:
    """Does capability predict alignment across models? One row per model in each prompt language.

    `alignment`: model, language, mean (alignment with the prompt language's speakers);
    `consistency`: model, language, mean (optional covariate); `capability`: model, language,
    score. A language with fewer than 3 models with a score is left out."""
    from scipy import stats

    rows = alignment.select("model", "language", pl.col("mean").alias("alignment")).join(
        capability.select("model", "language", pl.col("score").alias("capability")), on=["model", "language"]
    )
    if consistency is not None:
        cons = consistency.select("model", "language", pl.col("mean").alias("consistency"))
        rows = rows.join(cons, on=["model", "language"], how="left")
    out = []
    for (language,), part in rows.drop_nulls(["alignment", "capability"]).group_by("language", maintain_order=True):
        part = part.filter(pl.col("alignment").is_not_nan())
        use_cons = "consistency" in part.columns and part.height >= 5 and part["consistency"].null_count() == 0
        columns = [np.ones(part.height), part["capability"].to_numpy().astype(float)]
        names = ["intercept", "capability"]
        if use_cons:
            columns.append(part["consistency"].to_numpy().astype(float))
            names.append("consistency")
        x = np.column_stack(columns)
        if part.height < x.shape[1] + 1 or np.ptp(x[:, 1]) == 0:
            continue
        coef, se, df = _ols(part["alignment"].to_numpy().astype(float), x)
        crit = stats.t.ppf(0.5 + level / 2, df)
        for i, name in enumerate(names[1:], start=1):
            t = coef[i] / se[i] if se[i] > 0 else np.nan
            p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) else np.nan
            out.append({
                "language": language, "term": name, "coef": float(coef[i]), "se": float(se[i]), "t": float(t),
                "df": int(df), "p": p, "ci_low": float(coef[i] - crit * se[i]), "ci_high": float(coef[i] + crit * se[i]),
                "n_models": part.height, "test": CAPABILITY_TEST,
            })  # fmt: skip
    return pl.DataFrame(out, schema=CAPABILITY_COLUMNS, orient="row").sort("language", "term")
