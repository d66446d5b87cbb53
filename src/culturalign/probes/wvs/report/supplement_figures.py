"""Supplementary figures: alignment with every population, and the draw-free US gap.

Like `figures`, each function takes tables and returns a matplotlib Figure; nothing is read
or written here.
"""

from __future__ import annotations

import math

import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.probes.wvs.report.plot_helpers import (
    families_of,
    finite,
    forest_panels,
    interval_error,
    languages_of,
    model_legend,
    model_styles,
    nonempty,
    ordered_models,
    population_label,
    with_values,
)
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, figure_style, new_figure
from culturalign.tables import require_columns


def population_alignment_figure(alignment: pl.DataFrame, language: str) -> MplFigure:
    """Alignment of each model with each population for one prompt language, 95% bootstrap CIs."""
    require_columns(
        alignment,
        ["model", "family", "language", "population_kind", "population", "mean", "ci_low", "ci_high"],
        "alignment table",
    )
    data = nonempty(
        with_values(alignment.filter(pl.col("language") == language), "mean"),
        f"the alignment rows for language {language}",
    )
    kind_order = {"language": 0, "global": 2}
    populations = (
        data.select("population_kind", "population")
        .unique()
        .with_columns(
            pl.col("population_kind").replace_strict(kind_order, default=1, return_dtype=pl.Int64).alias("_order")
        )
        .sort("_order", "population")
    )
    labels = [population_label(k, p) for k, p in populations.select("population_kind", "population").iter_rows()]
    families = families_of(data)
    models = ordered_models(families)
    styles = model_styles(families)
    step = 0.8 / max(len(models), 1)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 1.5 + 0.38 * len(labels) + 0.2 * math.ceil(len(models) / 3))
        ax = fig.add_subplot()
        for k, model in enumerate(models):
            colour, marker = styles[model]
            rows = data.filter(pl.col("model") == model)
            for y, (kind, population) in enumerate(populations.select("population_kind", "population").iter_rows()):
                row = rows.filter((pl.col("population_kind") == kind) & (pl.col("population") == population))
                if row.is_empty():
                    continue
                mean, low, high = row["mean"][0], row["ci_low"][0], row["ci_high"][0]
                if not finite(mean):
                    continue
                ax.errorbar(
                    mean,
                    y - 0.4 + step * (k + 0.5),
                    xerr=interval_error(mean, low, high),
                    fmt=marker,
                    color=colour,
                    markersize=3.5,
                    capsize=1.2,
                    linewidth=0.8,
                )
        for y in range(0, len(labels), 2):  # banded rows: the eye keeps a population's points together
            ax.axhspan(y - 0.5, y + 0.5, color="#F3F3F3", linewidth=0, zorder=0)
        ax.axvline(0, color=NEUTRAL_GREY, linewidth=0.8, linestyle="--")
        ax.set_yticks(range(len(labels)), labels)
        ax.grid(axis="y", visible=False)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("alignment (Spearman of response VPS with population VPS), 95% bootstrap CI")
        ax.set_title(f"Prompt language {language}: alignment with each population")
        model_legend(fig, models, styles)
    return fig


def us_gap_figure(us_gap: pl.DataFrame) -> MplFigure:
    """Each model's alignment with the US minus with the local populations, 95% bootstrap CI.

    Unlike the RQ2 coefficient, this difference does not depend on a random baseline's draw.
    """
    require_columns(us_gap, ["model", "family", "language", "mean", "ci_low", "ci_high"], "US-gap table")
    data = nonempty(with_values(us_gap, "mean"), "the US-gap table")
    families = families_of(data)
    models = ordered_models(families)
    styles = model_styles(families)
    languages = languages_of(data)
    with figure_style():
        fig = new_figure(FULL_WIDTH_IN, 1.3 + 0.22 * len(models))
        for ax, y, model, row in forest_panels(fig, data, languages, models, "model", "mean"):
            colour, marker = styles[model]
            ax.errorbar(
                row["mean"],
                y,
                xerr=interval_error(row["mean"], row["ci_low"], row["ci_high"]),
                fmt=marker,
                color=colour,
                capsize=2,
                markersize=4.5,
            )
        fig.supxlabel("alignment with the US minus with the local populations (Spearman)", fontsize=9)
        fig.suptitle("Alignment with the US minus with local populations (> 0: closer to the US), 95% CI", fontsize=9)
    return fig
