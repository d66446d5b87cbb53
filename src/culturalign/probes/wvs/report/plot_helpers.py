"""Small helpers shared by the figures: ordering, per-model styles, panels, legends, intervals."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D

from culturalign.errors import DataError
from culturalign.report.style import MARKERS, family_colours

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
