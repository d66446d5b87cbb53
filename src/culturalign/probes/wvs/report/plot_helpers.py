"""Small helpers shared by the figures: ordering, per-model styles, panels, legends, intervals."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D

from culturalign.errors import DataError
from culturalign.report.style import MARKERS, NEUTRAL_GREY, family_colours

ModelStyle = tuple[str, str]  # (colour, marker)


def natural_key(text: str) -> list[object]:
    """Sort 'gemma-2-9b' before 'gemma-2-27b': numbers compare as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def interval_error(centre: float, low: float | None, high: float | None) -> list[list[float]] | None:
    """Error-bar lengths for matplotlib; none when the interval is unknown (too few rows to bootstrap).

    A percentile interval need not contain the point estimate; the bar then stops at the point."""
    if low is None or high is None or not (finite(low) and finite(high)):
        return None
    return [[max(centre - low, 0.0)], [max(high - centre, 0.0)]]


def with_values(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """Rows whose value is a finite number (too few responses leave an estimate empty)."""
    return df.filter(pl.col(column).cast(pl.Float64).is_finite().fill_null(False))


def nonempty(df: pl.DataFrame, what: str) -> pl.DataFrame:
    if df.is_empty():
        raise DataError(f"{what} has no rows; rerun the analysis or check its filters")
    return df


def model_styles(model_families: Mapping[str, str]) -> dict[str, ModelStyle]:
    """Colour from the family, marker from the model's place in its family (by size)."""
    colours = family_colours(list(model_families.values()))
    styles: dict[str, ModelStyle] = {}
    for family in sorted(set(model_families.values())):
        members = sorted((m for m, f in model_families.items() if f == family), key=natural_key)
        for index, model in enumerate(members):
            styles[model] = (colours[family], MARKERS[index % len(MARKERS)])
    return styles


def families_of(df: pl.DataFrame) -> dict[str, str]:
    pairs = df.select("model", "family").unique()
    return {m: (f if f else "other") for m, f in zip(pairs["model"], pairs["family"], strict=True)}


def ordered_models(families: Mapping[str, str]) -> list[str]:
    return sorted(families, key=lambda m: (families[m].lower(), natural_key(m)))


def languages_of(df: pl.DataFrame) -> list[str]:
    return sorted(df["language"].drop_nulls().unique().to_list())


def panel_grid(fig: MplFigure, n: int, *, sharey: bool = True, sharex: bool = False) -> list[Axes]:
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, sharey=sharey, sharex=sharex, squeeze=False).ravel().tolist()
    for extra in axes[n:]:
        extra.set_visible(False)
    return axes[:n]


def forest_panels(
    fig: MplFigure,
    data: pl.DataFrame,
    languages: Sequence[str],
    keys: Sequence[str],
    key_column: str,
    value_column: str,
    *,
    top_down: bool = True,
    xlabel: str | None = None,
) -> Iterator[tuple[Axes, int, str, dict[str, Any]]]:
    """One panel per language, one row per key (a model or a family), a dashed line at 0.

    Yields (panel, row position, key, that row's values) for every key with a finite value in
    that language; the caller draws the point and its interval."""
    axes = panel_grid(fig, len(languages), sharey=True, sharex=True)
    for ax, language in zip(axes, languages, strict=True):
        ax.axvline(0, color=NEUTRAL_GREY, linewidth=0.8, linestyle="--")
        ax.set_title(language)
        ax.set_yticks(range(len(keys)), list(keys))
        ax.set_ylim(*((len(keys) - 0.5, -0.5) if top_down else (-0.6, len(keys) - 0.4)))
        if xlabel:
            ax.set_xlabel(xlabel)
        rows = data.filter(pl.col("language") == language)
        for y, key in enumerate(keys):
            row = rows.filter(pl.col(key_column) == key)
            if not row.is_empty() and finite(row[value_column][0]):
                yield ax, y, key, row.row(0, named=True)


def model_legend(fig: MplFigure, models: Sequence[str], styles: Mapping[str, ModelStyle]) -> None:
    handles = [
        Line2D([], [], color=styles[m][0], marker=styles[m][1], linestyle="", markersize=5, label=m) for m in models
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(models), 3))


def population_label(kind: str, population: str) -> str:
    if kind == "language":
        return f"{population} speakers"
    if kind == "global":
        return "global"
    return population if kind == "country" else f"{population} ({kind})"
