"""From stances and labels to Hofstede profiles, and the statistics around them.

- score of a (model, language, statement, dimension) = polarity x (+1 agree / -1 disagree);
- profile = mean score over the scored statements of a dimension, in [-2, 2], with a
  percentile bootstrap interval over statements;
- 0-100 scaling beside Hofstede's country scores: the fixed range [-2, 2] -> [0, 100], or
  min-max over the profiles shown (`observed`);
- group view: per statement the median score of each group's models, kept where the groups
  differ, averaged per group;
- language effect: a paired bootstrap test of the per-dimension difference between two
  prompt languages on the statements scored in both (null: the mean difference is 0,
  imposed by centring the differences); p = (1 + #{|mean*| >= |mean|}) / (rounds + 1).
All bootstraps are vectorised numpy draws from one seeded generator.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl

from culturalign.analysis.bootstrap import nan_quantile, resample_rounds
from culturalign.probes.statements.answers import stance_sign

SCORE_RANGE = (-2.0, 2.0)


def statement_scores(stances: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """One row per (model, language, statement, dimension) with a readable stance and a scored label."""
    readable = stances.filter(pl.col("stance").is_in(["agree", "disagree"]))
    scored = labels.filter(pl.col("scored")).select("statement_id", "dimension", "polarity")
    joined = readable.join(scored, on="statement_id", how="inner")
    sign = pl.col("stance").map_elements(stance_sign, return_dtype=pl.Int64)
    return joined.with_columns((pl.col("polarity") * sign).cast(pl.Float64).alias("score")).select(
        "model", "origin", "family", "language", "statement_id", "dimension", "stance", "polarity", "score"
    )


def scale_to_100(values: np.ndarray | float, low: float = SCORE_RANGE[0], high: float = SCORE_RANGE[1]):
    """Linear map of [low, high] onto [0, 100]."""
    return (np.asarray(values, dtype=float) - low) / (high - low) * 100.0


def bootstrap_mean_intervals(
    values: list[np.ndarray], rounds: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of the mean, one per array (statements resampled with replacement)."""
    tail = (1 - level) / 2
    lows, highs = np.full(len(values), np.nan), np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if len(v) == 0:
            continue
        means = v[resample_rounds(rng, len(v), rounds)].mean(axis=1)
        lows[i], highs[i] = nan_quantile(means, tail), nan_quantile(means, 1 - tail)
    return lows, highs


def _mean_table(
    df: pl.DataFrame, by: list[str], value: str, rounds: int, rng: np.random.Generator, level: float
) -> pl.DataFrame:
    grouped = df.group_by(by, maintain_order=True).agg(pl.col(value)).sort(by)
    arrays = [np.asarray(v, dtype=float) for v in grouped[value].to_list()]
    lows, highs = bootstrap_mean_intervals(arrays, rounds, rng, level)
    return grouped.drop(value).with_columns(
        pl.Series("mean", [float(a.mean()) for a in arrays]),
        pl.Series("sd", [float(a.std(ddof=1)) if len(a) > 1 else float("nan") for a in arrays]),
        pl.Series("n_statements", [len(a) for a in arrays], dtype=pl.Int64),
        pl.Series("ci_low", lows),
        pl.Series("ci_high", highs),
    )


def add_scaled(table: pl.DataFrame, scaling: str = "range") -> pl.DataFrame:
    """Add mean/ci columns on 0-100: fixed range, or min-max of the means per dimension (`observed`)."""
    if scaling == "range":
        low, high = pl.lit(SCORE_RANGE[0]), pl.lit(SCORE_RANGE[1])
    else:
        low, high = pl.col("mean").min().over("dimension"), pl.col("mean").max().over("dimension")
    width = pl.when(high > low).then(high - low).otherwise(None)
    return table.with_columns(
        ((pl.col(c) - low) / width * 100).alias(f"{c}_100") for c in ("mean", "ci_low", "ci_high")
    )


def dimension_profiles(
    scores: pl.DataFrame, rounds: int, seed: int, level: float = 0.95, scaling: str = "range"
) -> pl.DataFrame:
    """Per model, language and dimension: mean score in [-2, 2], bootstrap interval, n, and 0-100."""
    rng = np.random.default_rng(seed)
    table = _mean_table(scores, ["model", "language", "dimension"], "score", rounds, rng, level)
    origins = scores.select("model", "origin", "family").unique(subset="model")
    table = table.join(origins, on="model", how="left")
    return add_scaled(table, scaling).with_columns(pl.lit(rounds).alias("rounds"), pl.lit(level).alias("level"))


def group_view(
    scores: pl.DataFrame, group_by: str, rounds: int, seed: int, level: float = 0.95, scaling: str = "range"
) -> pl.DataFrame:
    """Per group (e.g. origin), language and dimension: the mean over the statements where the
    groups' median scores differ. Models without a group value are left out."""
    grouped = scores.filter(pl.col(group_by).is_not_null())
    schema_cols = ["group", "language", "dimension", "mean", "sd", "n_statements", "ci_low", "ci_high"]
    if grouped.is_empty() or grouped[group_by].n_unique() < 2:
        return pl.DataFrame(
            schema={c: (pl.Utf8 if c in ("group", "language", "dimension") else pl.Float64) for c in schema_cols}
        )
    medians = grouped.group_by(group_by, "language", "statement_id", "dimension").agg(
        pl.col("score").median().alias("group_score")
    )
    n_groups = grouped[group_by].n_unique()
    keys = ["language", "statement_id", "dimension"]
    differing = (
        medians.group_by(keys)
        .agg(pl.col("group_score").n_unique().alias("distinct"), pl.len().alias("groups"))
        .filter((pl.col("groups") == n_groups) & (pl.col("distinct") > 1))
        .select(keys)
    )
    kept = medians.join(differing, on=keys, how="inner").rename({group_by: "group"})
    if kept.is_empty():
        return pl.DataFrame(
            schema={c: (pl.Utf8 if c in ("group", "language", "dimension") else pl.Float64) for c in schema_cols}
        )
    table = _mean_table(
        kept, ["group", "language", "dimension"], "group_score", rounds, np.random.default_rng(seed), level
    )
    return add_scaled(table, scaling).with_columns(pl.lit(group_by).alias("grouped_by"))


def native_scores(scores: pl.DataFrame, group_by: str, native: dict[str, str]) -> pl.DataFrame:
    """Each group's models answering in their group's native language only, pooled under the
    language label 'native', so that group_view compares the groups across languages."""
    allowed = pl.DataFrame(
        {group_by: list(native), "language": list(native.values())}, schema={group_by: pl.Utf8, "language": pl.Utf8}
    )
    return scores.join(allowed, on=[group_by, "language"], how="inner").with_columns(pl.lit("native").alias("language"))


def bootstrap_difference_test(
    differences: np.ndarray, rounds: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paired bootstrap test that the mean difference is 0, for a batch of datasets at once.

    `differences` is (datasets, n). Returns (mean, p_value, ci_low, ci_high) per dataset. The
    null is imposed by centring each dataset's differences; the interval is the mean plus the
    percentiles of the centred bootstrap means (the same draws)."""
    d = np.atleast_2d(np.asarray(differences, dtype=float))
    batch, n = d.shape
    observed = d.mean(axis=1)
    centred = d - observed[:, None]
    idx = rng.integers(0, n, size=(batch, rounds, n))
    boot = np.take_along_axis(centred[:, None, :], idx, axis=2).mean(axis=2)
    extreme = (np.abs(boot) >= np.abs(observed)[:, None] - 1e-12).sum(axis=1)
    p = (1 + extreme) / (rounds + 1)
    tail = (1 - level) / 2
    low, high = nan_quantile(boot, tail, axis=1), nan_quantile(boot, 1 - tail, axis=1)
    return observed, p, observed + low, observed + high


def language_effect(scores: pl.DataFrame, rounds: int, seed: int, alpha: float = 0.05) -> pl.DataFrame:
    """Per model, dimension and pair of prompt languages: mean scores in each language, their
    difference on the statements scored in both, its interval and bootstrap p-value."""
    rng = np.random.default_rng(seed)
    languages = sorted(scores["language"].unique().to_list()) if scores.height else []
    rows = []
    for model in sorted(scores["model"].unique().to_list()) if scores.height else []:
        mine = scores.filter(pl.col("model") == model)
        for dimension in sorted(mine["dimension"].unique().to_list()):
            cell = mine.filter(pl.col("dimension") == dimension)
            for a, b in combinations(languages, 2):
                paired = (
                    cell.filter(pl.col("language") == a)
                    .select("statement_id", pl.col("score").alias("a"))
                    .join(
                        cell.filter(pl.col("language") == b).select("statement_id", pl.col("score").alias("b")),
                        on="statement_id",
                        how="inner",
                    )
                )
                row = {
                    "model": model,
                    "dimension": dimension,
                    "language_a": a,
                    "language_b": b,
                    "n_statements": paired.height,
                    "rounds": rounds,
                    "test": "paired bootstrap, centred differences",
                }
                if paired.height < 2:
                    rows.append(
                        {
                            **row,
                            "mean_a": None,
                            "mean_b": None,
                            "difference": None,
                            "ci_low": None,
                            "ci_high": None,
                            "p_value": None,
                            "significant": None,
                        }
                    )
                    continue
                diff = (paired["a"] - paired["b"]).to_numpy()
                mean, p, low, high = bootstrap_difference_test(diff[None, :], rounds, rng)
                rows.append(
                    {
                        **row,
                        "mean_a": float(paired["a"].mean()),
                        "mean_b": float(paired["b"].mean()),
                        "difference": float(mean[0]),
                        "ci_low": float(low[0]),
                        "ci_high": float(high[0]),
                        "p_value": float(p[0]),
                        "significant": bool(p[0] < alpha),
                    }
                )
    schema = {
        "model": pl.Utf8,
        "dimension": pl.Utf8,
        "language_a": pl.Utf8,
        "language_b": pl.Utf8,
        "n_statements": pl.Int64,
        "rounds": pl.Int64,
        "test": pl.Utf8,
        "mean_a": pl.Float64,
        "mean_b": pl.Float64,
        "difference": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "significant": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").select(list(schema))


def table3_layout(profiles: pl.DataFrame, effects: pl.DataFrame) -> pl.DataFrame:
    """The paper's Table 3: rows dimension x language, one column per model with the mean score;
    a '*' marks a dimension where that model's language difference has p < alpha."""
    if profiles.is_empty():
        return pl.DataFrame()
    significant = set()
    if effects.height:
        for r in effects.filter(pl.col("significant").fill_null(False)).iter_rows(named=True):
            significant.update(
                {(r["model"], r["dimension"], r["language_a"]), (r["model"], r["dimension"], r["language_b"])}
            )
    cells = profiles.select("dimension", "language", "model", "mean").with_columns(
        pl.struct("model", "dimension", "language", "mean")
        .map_elements(
            lambda s: f"{s['mean']:+.2f}" + ("*" if (s["model"], s["dimension"], s["language"]) in significant else ""),
            return_dtype=pl.Utf8,
        )
        .alias("cell")
    )
    wide = cells.pivot(on="model", index=["dimension", "language"], values="cell")
    order = {d: i for i, d in enumerate(("pdi", "idv", "mas", "uai", "lto", "ivr"))}
    return (
        wide.with_columns(pl.col("dimension").replace_strict(order, default=99).alias("_o"))
        .sort("_o", "language")
        .drop("_o")
    )
