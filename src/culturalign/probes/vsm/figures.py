"""Figures of the vsm probe: radar charts of dimension scores, ranking bars with intervals."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.report.style import new_figure

DIMENSIONS = ("pdi", "idv", "mas", "uai", "lto", "ivr")
_MODEL_COLOUR = "#1f77b4"
_TRUTH_COLOUR = "#222222"


def _closed(values: list[float]) -> list[float]:
    return values + values[:1]


def radar_figure(scores: pl.DataFrame, condition: str) -> MplFigure:
    """One polar panel per country: the models' mean score per dimension against the published score.

    `scores` is the dimension_scores table; the model line is the mean over models.
    """
    rows = scores.filter(pl.col("condition") == condition)
    per = rows.group_by("country", "dimension").agg(pl.col("score").mean(), pl.col("ground_truth").first())
    countries = sorted(per["country"].unique().to_list())
    n = max(1, len(countries))
    cols = min(5, n)
    nrows = math.ceil(n / cols)
    fig = new_figure(2.6 * cols, 2.7 * nrows + 0.4)
    angles = _closed([2 * math.pi * i / len(DIMENSIONS) for i in range(len(DIMENSIONS))])
    for i, country in enumerate(countries):
        ax = fig.add_subplot(nrows, cols, i + 1, projection="polar")
        sub = {r["dimension"]: r for r in per.filter(pl.col("country") == country).iter_rows(named=True)}
        model = _closed(
            [float(sub[d]["score"]) if d in sub and sub[d]["score"] is not None else np.nan for d in DIMENSIONS]
        )
        truth = _closed([float(sub[d]["ground_truth"]) if d in sub else np.nan for d in DIMENSIONS])
        ax.plot(angles, truth, color=_TRUTH_COLOUR, linewidth=1.2, label="Hofstede score")
        ax.plot(angles, model, color=_MODEL_COLOUR, linewidth=1.2, label="models (mean)")
        ax.fill(angles, model, color=_MODEL_COLOUR, alpha=0.15)
        ax.set_xticks(angles[:-1], [d.upper() for d in DIMENSIONS], fontsize=7)
        ax.set_ylim(0, max(100.0, np.nanmax(truth + model) if np.isfinite(truth + model).any() else 100.0))
        ax.set_yticks([25, 50, 75, 100], ["", "50", "", "100"], fontsize=6)
        ax.set_title(country.replace("_", " ").title(), fontsize=9)
    handles, labels = fig.axes[0].get_legend_handles_labels() if fig.axes else ([], [])
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.suptitle(f"Dimension scores, prompt condition: {condition}", fontsize=10)
    return fig


def ranking_figure(ranking: pl.DataFrame, label: str, condition: str) -> MplFigure:
    """Horizontal bars of the deviation ratio (higher is better) with 95% bootstrap intervals."""
    rows = ranking.filter(pl.col("condition") == condition).sort("dr", descending=False, nulls_last=False)
    names = [str(x).replace("_", " ") for x in rows[label].to_list()]
    dr = np.array(rows["dr"].to_list(), dtype=float)
    low = np.array([np.nan if x is None else x for x in rows["dr_low"].to_list()], dtype=float)
    high = np.array([np.nan if x is None else x for x in rows["dr_high"].to_list()], dtype=float)
    undefined = np.array(rows["n_undefined"].to_list() if "n_undefined" in rows.columns else [0] * rows.height)
    fig = new_figure(5.5, 0.3 * max(len(names), 3) + 1.0)
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(names))
    ax.barh(y, np.where(np.isfinite(dr), dr, 0), color=_MODEL_COLOUR, alpha=0.8)
    _mark_undefined(ax, y, dr, undefined, horizontal=True)
    has_ci = np.isfinite(low) & np.isfinite(high) & np.isfinite(dr)
    if has_ci.any():
        err = np.vstack([dr - low, high - dr])[:, has_ci]
        ax.errorbar(
            dr[has_ci], y[has_ci], xerr=np.clip(err, 0, None), fmt="none", ecolor="#333333", capsize=2, linewidth=0.8
        )
    ax.axvline(1.0, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("deviation ratio (higher = better aligned)")
    ax.set_title(f"{label.title()} ranking, prompt condition: {condition}", fontsize=10)
    return fig


def dimension_dr_figure(dimension_dr: pl.DataFrame) -> MplFigure:
    """Mean deviation ratio per dimension, one group of bars per prompt condition."""
    conditions = [c for c in ("aligned", "english", "chinese", "average") if c in set(dimension_dr["condition"])]
    fig = new_figure(6.5, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(conditions))
    x = np.arange(len(DIMENSIONS))
    for i, cond in enumerate(conditions):
        sub = {r["dimension"]: r for r in dimension_dr.filter(pl.col("condition") == cond).iter_rows(named=True)}
        values = np.array([_finite(sub.get(d, {}).get("dr")) for d in DIMENSIONS])
        undefined = np.array([int(sub.get(d, {}).get("n_undefined") or 0) for d in DIMENSIONS])
        ax.bar(x + i * width, np.nan_to_num(values), width, label=cond)
        _mark_undefined(ax, x + i * width, values, undefined, horizontal=False)
    ax.set_xticks(x + width * (len(conditions) - 1) / 2, [d.upper() for d in DIMENSIONS])
    ax.set_ylabel("mean deviation ratio")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Deviation ratio per dimension", fontsize=10)
    return fig


def _finite(value) -> float:
    return float(value) if value is not None and math.isfinite(value) else np.nan


def _mark_undefined(ax, at: np.ndarray, values: np.ndarray, undefined: np.ndarray, *, horizontal: bool) -> None:
    """Undefined ratios (an exact match, gap 0) are not 0: a bar with no defined value becomes a hatched
    marker labelled "undefined"; a mean that left some out says how many."""
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    for position, value, count in zip(at, values, undefined, strict=True):
        if not count:
            continue
        if not math.isfinite(value):
            label = "undefined (exact match)" if horizontal else "undef."
            if horizontal:
                ax.barh(position, top, color="none", edgecolor="#999999", hatch="///", linewidth=0.6)
                ax.text(top * 0.02, position, label, va="center", fontsize=7)
            else:
                ax.bar(position, top, width=0.8 * 0.8 / 2, color="none", edgecolor="#999999", hatch="///")
                ax.text(position, top, label, ha="center", va="bottom", fontsize=6, rotation=90)
        elif horizontal:
            ax.text(value, position, f"  {count} undefined left out", va="center", fontsize=6)
        else:
            ax.text(position, value, f"{count} undef.", ha="center", va="bottom", fontsize=6, rotation=90)
