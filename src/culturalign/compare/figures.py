"""Figures of `culturalign compare`: one leaderboard per probe and the methods side by side."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.compare.leaderboard import BEST, TIED
from culturalign.errors import DataError
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, OKABE_ITO, new_figure

MARKER_STYLE = {
    BEST: {"color": OKABE_ITO["blue"], "fill": True},
    TIED: {"color": OKABE_ITO["sky_blue"], "fill": True},
}


def leaderboard_figure(board: pl.DataFrame, probe: str) -> MplFigure:
    """One panel per language/condition: entries best first, 95% intervals; filled = best or not
    distinguishable from it (paired test), hollow = behind the best."""
    part = board.filter(pl.col("probe") == probe)
    if part.is_empty():
        raise DataError(f"no {probe} entries to rank")
    cells = sorted(part["cell"].unique().to_list())
    n_entries = part.group_by("cell").len()["len"].max()
    cols = min(len(cells), 2)
    rows = math.ceil(len(cells) / cols)
    fig = new_figure(FULL_WIDTH_IN, max(2.2, rows * (0.9 + 0.22 * n_entries)))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax, cell in zip(axes, cells, strict=False):
        rows_cell = part.filter(pl.col("cell") == cell).sort("rank")
        y = np.arange(rows_cell.height)[::-1]
        for yi, r in zip(y, rows_cell.iter_rows(named=True), strict=True):
            style = MARKER_STYLE.get(r["marker"], {"color": NEUTRAL_GREY, "fill": False})
            if r["ci_low"] is not None and r["ci_high"] is not None:
                ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=style["color"], linewidth=1.2)
            if r["estimate"] is not None:
                ax.plot(
                    r["estimate"],
                    yi,
                    "o",
                    color=style["color"],
                    markerfacecolor=style["color"] if style["fill"] else "white",
                )
        ax.set_yticks(y, rows_cell["entry"].to_list())
        direction = rows_cell["direction"][0]
        ax.set_title(f"{cell} ({direction})", fontsize=9)
    for ax in axes[len(cells) :]:
        ax.set_visible(False)
    fig.suptitle(f"{probe}: filled = best or not distinguishable from it (paired test, Holm); hollow = behind")
    return fig


def methods_figure(methods: pl.DataFrame) -> MplFigure:
    """Kendall's tau between two methods with its bootstrap interval, one row per comparison."""
    shown = methods.filter(pl.col("tau").is_not_null())
    if shown.is_empty():
        raise DataError("no method pair had three or more common points to rank")
    labels = [f"{r['method_a']} vs {r['method_b']}: {r['over']} ({r['scope']})" for r in shown.iter_rows(named=True)]
    fig = new_figure(FULL_WIDTH_IN, 1.0 + 0.28 * shown.height)
    ax = fig.subplots()
    y = np.arange(shown.height)[::-1]
    low = shown["ci_low"].fill_null(np.nan).to_numpy()
    high = shown["ci_high"].fill_null(np.nan).to_numpy()
    tau = shown["tau"].to_numpy()
    ax.hlines(y, low, high, color=OKABE_ITO["blue"], linewidth=1.2)
    ax.plot(tau, y, "o", color=OKABE_ITO["blue"])
    ax.axvline(0, color=NEUTRAL_GREY, linewidth=0.8, linestyle="--")
    ax.set_xlim(-1.05, 1.05)
    ax.set_yticks(y, labels)
    ax.set_xlabel("Kendall's tau (1 = same order, 0 = unrelated, -1 = reversed)")
    return fig
