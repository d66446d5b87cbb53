"""The paper's figures, drawn from analysis tables.

Each function takes tables (polars DataFrames with the analysis folder's columns) and returns
a matplotlib Figure; none reads or writes files (`style.save_figure` does that), so the same
functions serve the report, notebooks and tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from culturalign.errors import DataError
from culturalign.probes.wvs.report.plot_helpers import (
    families_of,
    finite,
    forest_panels,
    interval_error,
    languages_of,
    model_legend,
    model_styles,
    natural_key,
    nonempty,
    ordered_models,
    panel_grid,
    with_values,
)
from culturalign.report.style import (
    BAND_GREY,
    COLUMN_WIDTH_IN,
    FULL_WIDTH_IN,
    NEUTRAL_GREY,
    family_colours,
    figure_style,
    new_figure,
    significance_mark,
)
from culturalign.tables import require_columns

__all__ = [
    "adjusted_alignment",
    "capability_alignment_figure",
    "capability_terms",
    "ground_truth_correlation_figure",
    "ground_truth_correlations",
    "model_styles",
    "natural_key",
    "rq1_coefficients_figure",
    "self_consistency_figure",
    "us_bias_figure",
]


# -- Fig. 1: RQ1 coefficients ----------------------------------------------------------------
def capability_terms(rq1: pl.DataFrame) -> pl.DataFrame:
    """The capability slopes of the RQ1 model: rows with a family and not about consistency."""
    require_columns(rq1, ["term", "family", "language", "coef", "p", "ci_low", "ci_high"], "rq1 table")
    return rq1.filter(
        pl.col("family").is_not_null()
        & (pl.col("family").cast(pl.Utf8) != "")
        & ~pl.col("term").str.to_lowercase().str.contains("consistency")
    )


def rq1_coefficients_figure(rq1: pl.DataFrame) -> MplFigure:
    """Capability slope per family, one panel per language, with 95% intervals (paper Fig. 1)."""
    terms = nonempty(with_values(capability_terms(rq1), "coef"), "the rq1 table's capability terms")
    languages = languages_of(terms)
    families = sorted(terms["family"].unique().to_list(), key=str.lower)
    colours = family_colours(families)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 1.2 + 0.35 * len(families))
        panels = forest_panels(
            fig, terms, languages, families, "family", "coef", top_down=False, xlabel="capability slope"
        )
        for ax, y, family, row in panels:
            coef, p = row["coef"], row["p"]
            significant = p is not None and p < 0.05
            ax.errorbar(
                coef,
                y,
                xerr=interval_error(coef, row["ci_low"], row["ci_high"]),
                fmt="o",
                color=colours[family],
                markerfacecolor=colours[family] if significant else "white",
                capsize=2,
                markersize=5,
            )
            ax.annotate(
                significance_mark(p), (coef, y), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8
            )
        fig.suptitle(
            "Multilingual capability vs alignment (RQ1): slope with 95% CI; filled and * = p < .05", fontsize=9
        )
    return fig


# -- Fig. 2: ground-truth correlations ---------------------------------------------------------
def ground_truth_correlations(ground_truth: pl.DataFrame, population_kind: str = "country") -> pl.DataFrame:
    """Pearson correlation of VPS between populations over the items both have (pairwise complete)."""
    require_columns(ground_truth, ["population_kind", "population", "item", "vps"], "ground-truth table")
    rows = ground_truth.filter(pl.col("population_kind") == population_kind)
    wide = rows.pivot(on="population", index="item", values="vps", aggregate_function="mean")
    populations = sorted(c for c in wide.columns if c != "item")
    if len(populations) < 2:
        raise DataError(f"the ground truth has fewer than two {population_kind} populations; nothing to correlate")
    matrix = wide.select(populations).to_numpy().astype(float)
    corr = np.full((len(populations), len(populations)), np.nan)
    for i in range(len(populations)):
        for j in range(len(populations)):
            both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
            if both.sum() >= 3:
                corr[i, j] = np.corrcoef(matrix[both, i], matrix[both, j])[0, 1]
    return pl.DataFrame({"population": populations, **{p: corr[:, k] for k, p in enumerate(populations)}})


def _cluster_order(corr: np.ndarray) -> list[int]:
    """Similar populations next to each other, so blocks of shared values are visible."""
    if len(corr) < 3 or np.isnan(corr).any():
        return list(range(len(corr)))
    distance = np.clip(1 - corr, 0, None)
    np.fill_diagonal(distance, 0)
    return leaves_list(linkage(squareform(distance, checks=False), method="average")).tolist()


def ground_truth_correlation_figure(ground_truth: pl.DataFrame, population_kind: str = "country") -> MplFigure:
    """Heatmap of VPS correlations between populations' ground truths (paper Fig. 2)."""
    table = ground_truth_correlations(ground_truth, population_kind)
    names = table["population"].to_list()
    corr = table.select(names).to_numpy()
    order = _cluster_order(corr)
    corr = corr[np.ix_(order, order)]
    names = [names[i] for i in order]
    n = len(names)
    side = min(FULL_WIDTH_IN, max(COLUMN_WIDTH_IN, 0.42 * n + 1.6))
    with figure_style():
        fig = new_figure(side, side * 0.86)
        ax = fig.add_subplot()
        # Survey populations mostly correlate above 0.7: a scale from 0 would paint them one colour.
        known = corr[np.isfinite(corr)]
        low = math.floor(float(known.min()) * 10) / 10 if known.size else 0.0
        low = min(low, 0.9)
        image = ax.imshow(corr, cmap="cividis", vmin=low, vmax=1.0)
        ax.set_xticks(range(n), names, rotation=90)
        ax.set_yticks(range(n), names)
        ax.grid(False)
        if n <= 16:
            for i in range(n):
                for j in range(n):
                    if np.isfinite(corr[i, j]):
                        shade = (corr[i, j] - low) / (1 - low or 1)
                        ax.text(
                            j,
                            i,
                            f"{corr[i, j]:.2f}",
                            ha="center",
                            va="center",
                            fontsize=6.5,
                            color="black" if shade > 0.55 else "white",
                        )
        fig.colorbar(image, ax=ax, shrink=0.8, label="Pearson r of VPS")
        ax.set_title(f"Ground-truth value polarity: correlation between {population_kind} populations")
    return fig


# -- Fig. 3: self-consistency ----------------------------------------------------------------
def self_consistency_figure(consistency: pl.DataFrame, human_consistency: pl.DataFrame | None) -> MplFigure:
    """Self-consistency per model and language with 95% CIs; the human range as a band (Fig. 3)."""
    require_columns(consistency, ["model", "family", "language", "mean", "ci_low", "ci_high"], "consistency table")
    data = nonempty(with_values(consistency, "mean"), "the consistency table (values)")
    families = families_of(data)
    models = ordered_models(families)
    styles = model_styles(families)
    languages = languages_of(data)
    width = 0.8 / max(len(models), 1)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 3.4)
        ax = fig.add_subplot()
        if human_consistency is not None and not human_consistency.is_empty():
            values = human_consistency["self_consistency"].drop_nulls()
            low, high = float(values.min()), float(values.max())
            ax.axhspan(low, high, color=BAND_GREY, alpha=0.6, linewidth=0)
            for edge in (low, high):
                ax.axhline(edge, color=NEUTRAL_GREY, linestyle="--", linewidth=0.9)
            ax.text(
                len(languages) - 0.45,
                high,
                f"humans: {low:.2f} to {high:.2f} (n={values.len()} populations)",
                ha="right",
                va="bottom",
                fontsize=7.5,
                color="#444444",
            )
        for k, model in enumerate(models):
            colour, marker = styles[model]
            rows = data.filter(pl.col("model") == model)
            for x, language in enumerate(languages):
                row = rows.filter(pl.col("language") == language)
                if row.is_empty():
                    continue
                mean, low_ci, high_ci = row["mean"][0], row["ci_low"][0], row["ci_high"][0]
                if not finite(mean):
                    continue
                ax.errorbar(
                    x - 0.4 + width * (k + 0.5),
                    mean,
                    yerr=interval_error(mean, low_ci, high_ci),
                    fmt=marker,
                    color=colour,
                    markersize=4.5,
                    capsize=1.5,
                    linewidth=0.9,
                )
        ax.set_xticks(range(len(languages)), languages)
        ax.set_xlim(-0.5, len(languages) - 0.5)
        ax.set_xlabel("prompt language")
        ax.set_ylabel("self-consistency (Spearman, corrected)")
        ax.set_title("Self-consistency of models (95% CI) and of resampled survey respondents (band)")
        model_legend(fig, models, styles)
    return fig


# -- Fig. 4: capability vs adjusted alignment ---------------------------------------------------
def adjusted_alignment(
    alignment: pl.DataFrame, consistency: pl.DataFrame, capability: pl.DataFrame, rq1: pl.DataFrame
) -> pl.DataFrame:
    """Language-level alignment minus the RQ1 consistency term, beside each model's capability.

    Columns: model, family, language, score, alignment, adjusted. Where the RQ1 table has no
    consistency coefficient for a language, `adjusted` equals the raw alignment.
    """
    require_columns(
        alignment, ["model", "family", "language", "population_kind", "population", "mean"], "alignment table"
    )
    require_columns(capability, ["model", "language", "score"], "capability table")
    own = alignment.filter((pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language")))
    cons_terms = rq1.filter(pl.col("term").str.to_lowercase().str.contains("consistency")).select(
        "language", pl.col("coef").alias("consistency_coef")
    )
    return (
        own.select("model", "family", "language", pl.col("mean").alias("alignment"))
        .join(capability.select("model", "language", "score"), on=["model", "language"], how="inner")
        .join(
            consistency.select("model", "language", pl.col("mean").alias("consistency")),
            on=["model", "language"],
            how="left",
        )
        .join(cons_terms.unique("language"), on="language", how="left")
        .with_columns(
            (pl.col("alignment") - pl.col("consistency_coef").fill_null(0) * pl.col("consistency").fill_null(0)).alias(
                "adjusted"
            )
        )
        .select("model", "family", "language", "score", "alignment", "adjusted")
        .drop_nulls(["score", "adjusted"])
        .filter(pl.col("score").is_finite() & pl.col("adjusted").is_finite())
        .sort("language", "family", "model")
    )


def capability_alignment_figure(
    alignment: pl.DataFrame, consistency: pl.DataFrame, capability: pl.DataFrame, rq1: pl.DataFrame
) -> MplFigure:
    """Capability (x) vs alignment adjusted for consistency (y), per language (paper Fig. 4).

    Each family's line has the RQ1 slope, drawn through the family's mean point; a star in the
    legend marks p < .05.
    """
    points = nonempty(
        adjusted_alignment(alignment, consistency, capability, rq1),
        "the join of alignment and capability (no model has both)",
    )
    slopes = capability_terms(rq1)
    families = families_of(points)
    styles = model_styles(families)
    colours = family_colours(list(families.values()))
    # The RQ1 regressor is the capability score / 100; draw its slope in the plotted unit.
    per_unit = 0.01 if float(points["score"].max()) > 1.5 else 1.0
    languages = languages_of(points)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 2.9 + 0.4 * math.ceil(len(languages) / 4))
        axes = panel_grid(fig, len(languages), sharey=True)
        for ax, language in zip(axes, languages, strict=True):
            rows = points.filter(pl.col("language") == language)
            for family in sorted(rows["family"].unique().to_list(), key=str.lower):
                members = rows.filter(pl.col("family") == family)
                for model, x, y in members.select("model", "score", "adjusted").iter_rows():
                    ax.plot(x, y, styles[model][1], color=styles[model][0], markersize=5)
                slope_row = slopes.filter((pl.col("family") == family) & (pl.col("language") == language))
                if slope_row.is_empty() or members.height < 2:
                    continue
                slope = float(slope_row["coef"][0]) * per_unit
                x0, y0 = float(members["score"].mean()), float(members["adjusted"].mean())
                xs = np.array([float(members["score"].min()), float(members["score"].max())])
                mark = significance_mark(slope_row["p"][0])
                ax.plot(
                    xs,
                    y0 + slope * (xs - x0),
                    color=colours[family],
                    linewidth=1.2,
                    linestyle="-" if mark else ":",
                    label=f"{family}{mark}",
                )
            ax.set_title(language)
            ax.set_xlabel("capability score")
            if ax is axes[0]:
                ax.set_ylabel("alignment adjusted\nfor self-consistency")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", fontsize=7, handlelength=1.5)
        fig.suptitle(
            "Capability vs adjusted alignment; lines: RQ1 slope per family (solid and * = p < .05)", fontsize=9
        )
        model_legend(fig, ordered_models(families), styles)
    return fig


# -- Fig. 5: US bias ------------------------------------------------------------------------
def us_bias_figure(us_bias: pl.DataFrame, model_families: Mapping[str, str] | None = None) -> MplFigure:
    """US-bias coefficient per model and language with +/- 1 SE bars (paper Fig. 5)."""
    require_columns(us_bias, ["model", "language", "coef", "se", "p"], "US-bias table")
    data = nonempty(with_values(us_bias, "coef"), "the US-bias table")
    families = {m: (model_families or {}).get(m, "other") for m in data["model"].unique().to_list()}
    models = ordered_models(families)
    styles = model_styles(families)
    languages = languages_of(data)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 1.3 + 0.22 * len(models))
        for ax, y, model, row in forest_panels(
            fig, data, languages, models, "model", "coef", xlabel="US-bias coefficient"
        ):
            coef, p = row["coef"], row["p"]
            se = row["se"] if finite(row["se"]) else 0.0
            colour, marker = styles[model]
            significant = p is not None and p < 0.05
            ax.errorbar(
                coef,
                y,
                xerr=se,
                fmt=marker,
                color=colour,
                capsize=2,
                markersize=4.5,
                markerfacecolor=colour if significant else "white",
            )
            ax.annotate(significance_mark(p), (coef + se, y), xytext=(2, -3), textcoords="offset points", fontsize=7)
        fig.suptitle(
            "US-centric bias (RQ2): > 0 = closer to the US than to local populations; "
            "bars = 1 SE; filled and * = p < .05",
            fontsize=9,
        )
    return fig
