"""From parsed answers to the tidy analysis tables of the vsm probe (written by stages.analyze)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from scipy import stats

from culturalign.analysis.bootstrap import nan_quantile
from culturalign.probes.vsm.countries import Country, paper_countries, resolve_countries
from culturalign.probes.vsm.instrument import load_structure
from culturalign.probes.vsm.metrics import CONDITIONS, Cube, Evaluation, Intervals, evaluate_cube, rank_descending
from culturalign.probes.vsm.scores import Scaling, sensitivity_scalings
from culturalign.sources import hofstede
from culturalign.sources.hofstede import TableRow

ORIGIN_TARGETS = ("united_states", "china")


def build_cube(
    answers: pl.DataFrame,
    models: list[str],
    countries: list[Country],
    languages: list[str],
    repeats: int,
    origins: list[str | None],
) -> Cube:
    """Dense [model, country, language, item, repeat] array of answers (NaN = none): the chosen
    option, or for a scored answer its expected value, asked once and standing for every repeat
    (a scored answer is deterministic, so its repeats could only repeat it)."""
    n_items = load_structure().n_items
    values = np.full((len(models), len(countries), len(languages), n_items, repeats), np.nan)
    at_m = {m: i for i, m in enumerate(models)}
    at_c = {c.key: i for i, c in enumerate(countries)}
    at_l = {lang: i for i, lang in enumerate(languages)}
    column = "value" if "value" in answers.columns else "choice"
    ok = answers.filter(pl.col(column).is_not_null())
    for row in ok.iter_rows(named=True):
        m, c, lang = at_m.get(row["model"]), at_c.get(row["country"]), at_l.get(row["language"])
        if m is None or c is None or lang is None or not (0 <= row["repeat"] < repeats):
            continue
        slots = slice(None) if row.get("answer_mode") == "scored" else row["repeat"]
        values[m, c, lang, row["item"] - 1, slots] = row[column]
    return Cube(values, models, [c.key for c in countries], languages, [c.language for c in countries], origins)


def table_rows(countries: list[Country] | tuple[Country, ...]) -> list[TableRow]:
    return [TableRow(c.key, c.hofstede_code, c.hofstede_name, c.fallback_code) for c in countries]


def country_score_table(
    scores: str, countries: list[str], *, fallback: bool, skip_missing: bool, warn: Callable[[str], None]
) -> pl.DataFrame:
    """Each country's six scores (one column per dimension) and the table rows that gave them
    (`rows`); `countries` are keys or names, empty for the paper's 20."""
    chosen = resolve_countries(countries) if countries else list(paper_countries())
    long = hofstede.ground_truth(
        hofstede.load_scores(scores), table_rows(chosen), fallback=fallback,
        missing="skip" if skip_missing else "error", warn=warn,
    )  # fmt: skip
    wide = long.pivot(on="dimension", index="country", values="value")
    sources = long.group_by("country").agg(pl.col("source").unique().sort().str.join("+").alias("rows"))
    return wide.join(sources, on="country")


def gt_matrix(gt_long: pl.DataFrame, country_keys: list[str]) -> np.ndarray:
    dims = load_structure().dimension_keys
    lookup = {(r["country"], r["dimension"]): r["value"] for r in gt_long.iter_rows(named=True)}
    return np.array([[lookup[(c, d)] for d in dims] for c in country_keys], dtype=float)


def global_mean(gt_long: pl.DataFrame, paper_gt: pl.DataFrame | None) -> np.ndarray:
    """Mean ground truth per dimension: over the paper's 20 countries when given, else over this run's."""
    source = paper_gt if paper_gt is not None and paper_gt.height else gt_long
    keys = source["country"].unique(maintain_order=True).to_list()
    return gt_matrix(source, keys).mean(axis=0)


def paper_country_rows() -> list[TableRow]:
    return table_rows(paper_countries())


def failures_table(answers: pl.DataFrame) -> pl.DataFrame:
    return (
        answers.group_by("model", "language")
        .agg(
            pl.len().alias("n"),
            pl.col("choice").is_not_null().sum().alias("ok"),
            (pl.col("status") == "no_answer").sum().alias("no_answer"),
            (pl.col("status") == "ambiguous").sum().alias("ambiguous"),
            (pl.col("status") == "echoed_options").sum().alias("echoed_options"),
            (pl.col("status") == "out_of_range").sum().alias("out_of_range"),
            (pl.col("status") == "refusal").sum().alias("refusal"),
            (pl.col("status") == "error").sum().alias("call_error"),
        )
        .with_columns((1 - pl.col("ok") / pl.col("n")).alias("failure_rate"))
        .sort("model", "language")
    )


def item_means_table(answers: pl.DataFrame) -> pl.DataFrame:
    """Per item: the mean answer (scored: the expected value) and, for scored answers, the entropy in bits."""
    value = "value" if "value" in answers.columns else "choice"
    entropy = pl.col("entropy_bits").mean() if "entropy_bits" in answers.columns else pl.lit(None, pl.Float64)
    return (
        answers.filter(pl.col(value).is_not_null())
        .group_by("model", "country", "language", "item")
        .agg(
            pl.col(value).mean().alias("mean"),
            pl.col(value).std().alias("sd"),
            pl.len().alias("n"),
            entropy.alias("entropy_bits"),
        )
        .sort("model", "country", "language", "item")
    )


def _ci(iv: Intervals | None, name: str, index: tuple) -> tuple[float | None, float | None]:
    if iv is None or name not in iv.low:
        return None, None
    return _num(iv.low[name][index]), _num(iv.high[name][index])


def _num(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def deviation_table(ev: Evaluation, cube: Cube, iv: Intervals | None) -> pl.DataFrame:
    rows = []
    for m, model in enumerate(cube.models):
        for c, country in enumerate(cube.countries):
            for k, cond in enumerate(CONDITIONS):
                if ev.n_trials[m, c, k] == 0:
                    continue
                lo, hi = _ci(iv, "dr", (m, c, k))
                dlo, dhi = _ci(iv, "mean_difference", (m, c, k))
                rows.append({
                    "model": model, "country": country, "condition": cond, "dr": _num(ev.dr[m, c, k]),
                    "dr_low": lo, "dr_high": hi, "mean_difference": _num(ev.mean_difference[m, c, k]),
                    "difference_low": dlo, "difference_high": dhi, "gt_deviation": _num(ev.numerator[c]),
                    "n_trials": int(ev.n_trials[m, c, k]), "dr_undefined": int(ev.dr_undefined[m, c, k]),
                })  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def dimension_table(ev: Evaluation, cube: Cube, gt: np.ndarray, iv: Intervals | None) -> pl.DataFrame:
    dims = load_structure().dimension_keys
    rows = []
    for m, model in enumerate(cube.models):
        for c, country in enumerate(cube.countries):
            for k, cond in enumerate(CONDITIONS):
                if ev.n_trials[m, c, k] == 0:
                    continue
                for d, dim in enumerate(dims):
                    slo, shi = _ci(iv, "score", (m, c, k, d))
                    lo, hi = _ci(iv, "dr_dim", (m, c, k, d))
                    glo, ghi = _ci(iv, "gap", (m, c, k, d))
                    rows.append({
                        "model": model, "country": country, "condition": cond, "dimension": dim,
                        "score": _num(ev.score[m, c, k, d]), "score_low": slo, "score_high": shi,
                        "ground_truth": float(gt[c, d]), "abs_gap": _num(ev.gap[m, c, k, d]),
                        "gap_low": glo, "gap_high": ghi,
                        "dr": _num(ev.dr_dim[m, c, k, d]), "dr_low": lo, "dr_high": hi,
                        "dr_undefined": int(ev.dr_dim_undefined[m, c, k, d]), "n_trials": int(ev.n_trials[m, c, k]),
                    })  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def ranking_table(
    kind: str, ev: Evaluation, cube: Cube, iv: Intervals | None, neutral: np.ndarray | None = None
) -> pl.DataFrame:
    """Countries (mean over models) or models (mean over countries), ranked by DR per condition."""
    labels = cube.countries if kind == "country" else cube.models
    dr = ev.country_dr if kind == "country" else ev.model_dr
    diff = ev.country_difference if kind == "country" else ev.model_difference
    undefined = ev.country_undefined if kind == "country" else ev.model_undefined
    n_over = len(cube.models) if kind == "country" else len(cube.countries)
    rows = []
    for k, cond in enumerate(CONDITIONS):
        ranks = rank_descending(dr[:, k])
        for i, label in enumerate(labels):
            if np.isnan(dr[i, k]) and not undefined[i, k]:
                continue
            lo, hi = _ci(iv, f"{kind}_dr", (i, k))
            # n_undefined: exact matches left out of the mean (all of them when dr is empty)
            row = {kind: label, "condition": cond, "rank": int(ranks[i]), "dr": _num(dr[i, k]), "dr_low": lo,
                   "dr_high": hi, "mean_difference": _num(diff[i, k]), f"n_{'models' if kind == 'country' else 'countries'}": n_over,
                   "n_undefined": int(undefined[i, k])}  # fmt: skip
            if kind == "model":
                row["origin"] = cube.origins[i] if cube.origins else None
            elif neutral is not None:
                row["neutral_dr"] = _num(neutral[i])
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def dimension_dr_table(ev: Evaluation, iv: Intervals | None) -> pl.DataFrame:
    dims = load_structure().dimension_keys
    rows = []
    defined = np.sum(~np.isnan(ev.dr_dim), axis=(0, 1))  # [K, D]
    for k, cond in enumerate(CONDITIONS):
        for d, dim in enumerate(dims):
            if np.isnan(ev.dimension_dr[k, d]) and not ev.dimension_undefined[k, d]:
                continue
            lo, hi = _ci(iv, "dimension_dr", (k, d))
            rows.append({"condition": cond, "dimension": dim, "dr": _num(ev.dimension_dr[k, d]), "dr_low": lo,
                         "dr_high": hi, "n_cells": int(defined[k, d]),
                         "n_undefined": int(ev.dimension_undefined[k, d])})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def origin_groups(cube: Cube) -> dict[str, np.ndarray]:
    origins = np.array([(o or "").upper() for o in cube.origins]) if cube.origins else np.array([""] * len(cube.models))
    return {name: origins == name for name in ("US", "CN") if (origins == name).any()}


def origin_table(ev: Evaluation, cube: Cube, iv: Intervals | None) -> pl.DataFrame:
    """US- vs China-origin models against the US and China scores, with the US-minus-CN difference."""
    groups = origin_groups(cube)
    rows = []
    for target in ORIGIN_TARGETS:
        if target not in cube.countries:
            continue
        c = cube.countries.index(target)
        for k, cond in enumerate(CONDITIONS):
            for name, members in groups.items():
                value = ev.group_dr(members)[c, k]
                draws = iv.group_draws.get(name) if iv else None
                lo, hi = (None, None) if draws is None else _pct(draws[:, c, k])
                rows.append({"target": target, "condition": cond, "group": name, "dr": _num(value), "dr_low": lo,
                             "dr_high": hi, "n_models": int(members.sum()), "p_boot": None})  # fmt: skip
            if len(groups) == 2:
                diff = ev.group_dr(groups["US"])[c, k] - ev.group_dr(groups["CN"])[c, k]
                lo = hi = p = None
                if iv and "US" in iv.group_draws:
                    d = iv.group_draws["US"][:, c, k] - iv.group_draws["CN"][:, c, k]
                    lo, hi = _pct(d)
                    p = _boot_p(d)
                rows.append({"target": target, "condition": cond, "group": "US-CN", "dr": _num(diff), "dr_low": lo,
                             "dr_high": hi, "n_models": int(sum(g.sum() for g in groups.values())), "p_boot": p})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _pct(draws: np.ndarray) -> tuple[float | None, float | None]:
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return None, None
    return float(nan_quantile(draws, 2.5 / 100)), float(nan_quantile(draws, 97.5 / 100))


def _boot_p(diffs: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value for a zero difference (share of rounds on the far side of 0, doubled)."""
    diffs = diffs[np.isfinite(diffs)]
    if not diffs.size or np.ptp(diffs) == 0:  # no spread between rounds: no evidence either way
        return None
    return float(min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())))


def sensitivity_tables(
    cube: Cube, gt: np.ndarray, gmean: np.ndarray, default: Scaling, normalisation: str, language_average: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rankings under each scaling, and Spearman agreement of each with the configured one."""
    schemes = {"configured": default, **sensitivity_scalings(normalisation)}
    evs = {name: evaluate_cube(cube, s, gt, gmean, language_average) for name, s in schemes.items()}
    rows, agreement = [], []
    for kind in ("country", "model"):
        labels = cube.countries if kind == "country" else cube.models
        for k, cond in enumerate(CONDITIONS):
            base = (evs["configured"].country_dr if kind == "country" else evs["configured"].model_dr)[:, k]
            for name, ev in evs.items():
                dr = (ev.country_dr if kind == "country" else ev.model_dr)[:, k]
                if np.isnan(dr).all():
                    continue
                ranks = rank_descending(dr)
                rows += [{"scheme": name, "kind": kind, "condition": cond, "entity": label, "dr": _num(dr[i]),
                          "rank": int(ranks[i])} for i, label in enumerate(labels) if not np.isnan(dr[i])]  # fmt: skip
                if name == "configured":
                    continue
                both = np.isfinite(dr) & np.isfinite(base)
                rho = p = None
                if both.sum() >= 3 and np.ptp(dr[both]) > 0 and np.ptp(base[both]) > 0:
                    res = stats.spearmanr(dr[both], base[both])
                    rho, p = float(res.statistic), float(res.pvalue)
                agreement.append({"scheme": name, "kind": kind, "condition": cond, "spearman_vs_configured": rho,
                                  "p_value": p, "n": int(both.sum())})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None), pl.DataFrame(agreement, infer_schema_length=None)


def language_average_table(cube: Cube, gt: np.ndarray, gmean: np.ndarray, scaling: Scaling) -> pl.DataFrame:
    """The average-over-languages DR of every country and model under both averaging rules, side by side."""
    both = {rule: evaluate_cube(cube, scaling, gt, gmean, rule) for rule in ("scores", "ratios")}
    k = CONDITIONS.index("average")
    rows = []
    for kind, labels in (("country", cube.countries), ("model", cube.models)):
        for i, label in enumerate(labels):
            values = {rule: (ev.country_dr if kind == "country" else ev.model_dr)[i, k] for rule, ev in both.items()}
            if all(np.isnan(v) for v in values.values()):
                continue
            rows.append({"kind": kind, "entity": label, "dr_average_scores": _num(values["scores"]),
                         "dr_average_ratios": _num(values["ratios"])})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
