"""Bar charts of the statements probe: one figure per dimension.

Left panel: each model's mean score in [-2, 2] per prompt language, with its bootstrap
interval. Right panel: the same on 0-100, beside the Hofstede scores of the chosen countries
(drawn as grey bars), so that the reader sees both the raw direction and the comparison.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.errors import DataError
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, OKABE_ITO, new_figure

_LANGUAGE_COLOURS = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue")]


def _bars(ax, table: pl.DataFrame, value: str, low: str, high: str, languages: list[str], models: list[str]) -> None:
    width = 0.8 / max(1, len(languages))
    x = np.arange(len(models))
    for i, language in enumerate(languages):
        part = {r["model"]: r for r in table.filter(pl.col("language") == language).iter_rows(named=True)}
        means = np.array([part[m][value] if m in part else np.nan for m in models], dtype=float)
        lows = np.array([part[m][low] if m in part else np.nan for m in models], dtype=float)
        highs = np.array([part[m][high] if m in part else np.nan for m in models], dtype=float)
        errors = np.vstack([np.clip(means - lows, 0, None), np.clip(highs - means, 0, None)])
        ax.bar(x + (i - (len(languages) - 1) / 2) * width, means, width, yerr=errors, capsize=2,
               color=_LANGUAGE_COLOURS[i % len(_LANGUAGE_COLOURS)], label=language, error_kw={"linewidth": 0.8})
    ax.set_xticks(x, models, rotation=30, ha="right")


def dimension_figure(profiles: pl.DataFrame, countries: pl.DataFrame, dimension: str, label: str) -> MplFigure:
    """The bar chart of one dimension; a DataError when no model has a score on it."""
    table = profiles.filter(pl.col("dimension") == dimension)
    if table.is_empty():
        raise DataError(f"no scored statement for {label}")
    models = sorted(table["model"].unique().to_list())
    languages = sorted(table["language"].unique().to_list())
    fig = new_figure(FULL_WIDTH_IN, 2.8)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    _bars(left, table, "mean", "ci_low", "ci_high", languages, models)
    left.axhline(0, color="black", linewidth=0.6)
    left.set_ylim(-2, 2)
    left.set_ylabel(f"{label} mean score (-2 .. 2)")
    left.set_title(f"{label}: agreement-weighted polarity")
    left.legend(title="prompt language", loc="upper left")
    _bars(right, table, "mean_100", "ci_low_100", "ci_high_100", languages, models)
    people = countries.filter(pl.col("dimension") == dimension) if countries.height else countries
    if people.height:
        start = len(models)
        names = people["country"].to_list()
        right.bar(np.arange(start, start + len(names)), people["value"].to_numpy(), 0.6, color=NEUTRAL_GREY)
        right.set_xticks(np.arange(start + len(names)), models + names, rotation=30, ha="right")
    right.set_ylim(0, max(100.0, float(people["value"].max()) if people.height else 100.0))
    right.set_ylabel("0-100")
    right.set_title("scaled, beside Hofstede country scores (grey)")
    return fig
