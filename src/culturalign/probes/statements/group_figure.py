"""The statements paper's Fig. 1: group profiles (e.g. US- vs China-made models), one panel per
prompt language, bars per dimension with 95% bootstrap intervals over statements."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.errors import DataError
from culturalign.report.sections import Figure
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, OKABE_ITO, new_figure, save_figure

DIMENSIONS = ("pdi", "idv", "mas", "uai", "lto", "ivr")
_COLOURS = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue")]


def group_profile_figure(groups: pl.DataFrame) -> MplFigure:
    if groups.is_empty():
        raise DataError("no group view")
    languages = sorted(groups["language"].unique().to_list())
    names = sorted(groups["group"].unique().to_list())
    cols = min(2, len(languages))
    rows = math.ceil(len(languages) / cols)
    fig = new_figure(FULL_WIDTH_IN, 2.4 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharey=True).ravel())
    x = np.arange(len(DIMENSIONS))
    width = 0.8 / max(1, len(names))
    for ax, language in zip(axes, languages, strict=False):
        part = groups.filter(pl.col("language") == language)
        for i, name in enumerate(names):
            lookup = {r["dimension"]: r for r in part.filter(pl.col("group") == name).iter_rows(named=True)}
            mean = np.array([_get(lookup, d, "mean") for d in DIMENSIONS])
            low = np.array([_get(lookup, d, "ci_low") for d in DIMENSIONS])
            high = np.array([_get(lookup, d, "ci_high") for d in DIMENSIONS])
            err = np.nan_to_num(np.clip(np.vstack([mean - low, high - mean]), 0, None))
            ax.bar(x + (i - (len(names) - 1) / 2) * width, np.nan_to_num(mean), width, yerr=err, capsize=2,
                   color=_COLOURS[i % len(_COLOURS)], label=name)  # fmt: skip
        ax.axhline(0, color=NEUTRAL_GREY, linewidth=0.8)
        ax.set_ylim(-2, 2)
        ax.set_xticks(x, [d.upper() for d in DIMENSIONS])
        ax.set_title(f"prompt language: {language}", fontsize=9)
    for ax in axes[len(languages) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("group mean score [-2, 2]")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=8, frameon=False)
    return fig


def _get(lookup: dict, dimension: str, key: str) -> float:
    value = lookup.get(dimension, {}).get(key)
    return float("nan") if value is None else float(value)


def group_figure(groups: pl.DataFrame, figures_dir: Path) -> Figure | None:
    """The figure for the report, or None when there is no group view to draw."""
    try:
        png, svg = save_figure(group_profile_figure(groups), figures_dir, "statements_fig1_groups")
    except DataError:
        return None
    return Figure(
        title="Group profiles (Fig. 1)",
        png=png,
        svg=svg,
        caption="Mean over the statements where the groups' medians differ; bars: 95% bootstrap intervals.",
    )
