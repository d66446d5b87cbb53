"""Bar charts of the statements probe, one panel per dimension, in two figures.

profile_figure: each model's mean score in [-2, 2] per prompt language, with its bootstrap
interval. scaled_figure: the same on 0-100, beside the Hofstede scores of the chosen
countries (grey bars; scores above 100, which the published table has, are cut at 100).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.errors import DataError
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, OKABE_ITO, new_figure

_LANGUAGE_COLOURS = [
    OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue")
]


def _bars(ax, table: pl.DataFrame, value: str, low: str, high: str, languages: list[str], models: list[str]) -> None:
    width = 0.8 / max(1, len(languages))
    x = np.arange(len(models))
    for i, language in enumerate(languages):
        part = {r["model"]: r for r in table.filter(pl.col("language") == language).iter_rows(named=True)}
        means = np.array([part[m][value] if m in part else np.nan for m in models], dtype=float)
        lows = np.array([part[m][low] if m in part else np.nan for m in models], dtype=float)
        highs = np.array([part[m][high] if m in part else np.nan for m in models], dtype=float)
        errors = np.vstack([np.clip(means - lows, 0, None), np.clip(highs - means, 0, None)])
        ax.bar(
            x + (i - (len(languages) - 1) / 2) * width,
            means,
            width,
            yerr=errors,
            capsize=2,
            color=_LANGUAGE_COLOURS[i % len(_LANGUAGE_COLOURS)],
            label=language,
            error_kw={"linewidth": 0.8},
        )
    ax.set_xticks(x, models, rotation=30, ha="right")


def _legend(fig: MplFigure, ax) -> None:
    """One legend above the panels, where it hides no bar."""
    handles, names = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, title="prompt language", loc="outside upper center", ncols=len(names))


def _panels(profiles: pl.DataFrame, labels: dict[str, str]) -> tuple[MplFigure, list, list[str], list[str]]:
    if profiles.is_empty():
        raise DataError("no scored statement on any dimension")
    models = sorted(profiles["model"].unique().to_list())
    languages = sorted(profiles["language"].unique().to_list())
    fig = new_figure(FULL_WIDTH_IN, 5.2)
    axes = list(fig.subplots(2, 3, sharey=True).flat)
    return fig, axes, models, languages


def profile_figure(profiles: pl.DataFrame, labels: dict[str, str]) -> MplFigure:
    """A bar chart per dimension: each model's mean score in [-2, 2] per prompt language, with intervals."""
    fig, axes, models, languages = _panels(profiles, labels)
    for ax, (dimension, label) in zip(axes, labels.items(), strict=False):
        table = profiles.filter(pl.col("dimension") == dimension)
        ax.set_title(label)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylim(-2, 2)
        if table.is_empty():
            ax.text(0.5, 0.5, "no scored statement", ha="center", va="center", transform=ax.transAxes)
            continue
        _bars(ax, table, "mean", "ci_low", "ci_high", languages, models)
    axes[0].set_ylabel("mean score (-2 .. 2)")
    axes[3].set_ylabel("mean score (-2 .. 2)")
    _legend(fig, axes[0])
    return fig


def scaled_figure(profiles: pl.DataFrame, countries: pl.DataFrame, labels: dict[str, str]) -> MplFigure:
    """The same profiles on 0-100, with Hofstede's country scores as grey bars beside them."""
    fig, axes, models, languages = _panels(profiles, labels)
    for ax, (dimension, label) in zip(axes, labels.items(), strict=False):
        table = profiles.filter(pl.col("dimension") == dimension)
        ax.set_title(label)
        ax.set_ylim(0, 100)
        if not table.is_empty():
            _bars(ax, table, "mean_100", "ci_low_100", "ci_high_100", languages, models)
        people = countries.filter(pl.col("dimension") == dimension) if countries.height else countries
        names = people["country"].to_list() if people.height else []
        if names:
            ax.bar(
                np.arange(len(models), len(models) + len(names)),
                np.minimum(people["value"].to_numpy(), 100),
                0.6,
                color=NEUTRAL_GREY,
            )
        ax.set_xticks(np.arange(len(models) + len(names)), models + names, rotation=30, ha="right")
    axes[0].set_ylabel("0-100")
    axes[3].set_ylabel("0-100")
    _legend(fig, axes[0])
    return fig
