"""The vsm paper's figures the report lacked: model vs country scores (Fig. 2), US- vs China-origin
models over all countries (Fig. 5), alignment against covariates (Fig. 6), scores per prompt
language, the model ranking by both metrics and the radar chart with the overall-average line.

Every function draws from the analysis tables; `paper_sections` puts them into the report and
says in a sentence why a figure is missing when its data is.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
from matplotlib.figure import Figure as MplFigure
from scipy import stats

from culturalign.errors import DataError
from culturalign.probes.vsm.figures import DIMENSIONS, _closed
from culturalign.report.covariates import COVARIATE_KEYS
from culturalign.report.style import FULL_WIDTH_IN, NEUTRAL_GREY, OKABE_ITO, new_figure

_DIM_COLOURS = dict(zip(DIMENSIONS, [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue")], strict=True))  # fmt: skip
ORIGIN_COLOURS = {"US": OKABE_ITO["blue"], "CN": OKABE_ITO["vermillion"]}


def score_scatter_figure(dims: pl.DataFrame, condition: str) -> MplFigure:
    """Fig. 2: each (model, country, dimension) score against the country's published score."""
    rows = dims.filter((pl.col("condition") == condition) & pl.col("score").is_not_null())
    if rows.is_empty():
        raise DataError(f"no dimension scores in condition {condition}")
    fig = new_figure(FULL_WIDTH_IN * 0.7, FULL_WIDTH_IN * 0.6)
    ax = fig.subplots()
    for dim in DIMENSIONS:
        part = rows.filter(pl.col("dimension") == dim)
        if part.height:
            ax.scatter(part["ground_truth"], part["score"], s=12, alpha=0.7, color=_DIM_COLOURS[dim], label=dim.upper())
    top = max(100.0, float(rows["ground_truth"].max()), float(rows["score"].max()))
    ax.plot([0, top], [0, top], color=NEUTRAL_GREY, linestyle="--", linewidth=0.8)
    rho = stats.spearmanr(rows["ground_truth"], rows["score"]).statistic if rows.height > 2 else float("nan")
    ax.set_xlabel("Hofstede's published score")
    ax.set_ylabel("model score")
    ax.set_title(f"Model vs country scores ({condition}); Spearman ρ = {rho:.2f}, n = {rows.height}", fontsize=9)
    ax.legend(fontsize=7, ncols=3, frameon=False)
    return fig


def origin_average_figure(dims: pl.DataFrame, origins: dict[str, str], condition: str) -> MplFigure:
    """Fig. 5: mean score per dimension over all countries, US-origin vs China-origin models, beside
    the mean published score; bars: 95% percentile intervals over countries (resampled)."""
    rows = dims.filter(pl.col("condition") == condition).with_columns(
        pl.col("model").replace_strict(origins, default=None).alias("origin")
    )
    groups = [g for g in ("US", "CN") if rows.filter(pl.col("origin") == g).height]
    if not groups:
        raise DataError("no model has origin US or CN (set origin on the models)")
    fig = new_figure(FULL_WIDTH_IN, 3.0)
    ax = fig.subplots()
    x = np.arange(len(DIMENSIONS))
    width = 0.8 / (len(groups) + 1)
    rng = np.random.default_rng(0)
    truth = rows.group_by("country", "dimension").agg(pl.col("ground_truth").first())
    for i, group in enumerate([*groups, "published"]):
        means, lows, highs = [], [], []
        for dim in DIMENSIONS:
            if group == "published":
                per_country = truth.filter(pl.col("dimension") == dim)["ground_truth"].to_numpy()
            else:
                part = rows.filter((pl.col("origin") == group) & (pl.col("dimension") == dim))
                per_country = part.group_by("country").agg(pl.col("score").mean())["score"].drop_nulls().to_numpy()
            means.append(per_country.mean() if per_country.size else np.nan)
            if per_country.size > 1:
                boot = per_country[rng.integers(0, per_country.size, (1000, per_country.size))].mean(axis=1)
                lows.append(means[-1] - np.percentile(boot, 2.5))
                highs.append(np.percentile(boot, 97.5) - means[-1])
            else:
                lows.append(0.0)
                highs.append(0.0)
        colour = ORIGIN_COLOURS.get(group, NEUTRAL_GREY)
        label = f"{group}-origin models" if group != "published" else "published (mean of countries)"
        ax.bar(
            x + (i - len(groups) / 2) * width, means, width, yerr=[lows, highs], capsize=2, color=colour, label=label
        )
    ax.set_xticks(x, [d.upper() for d in DIMENSIONS])
    ax.set_ylabel("mean score over countries")
    ax.set_title(f"US- vs China-origin models, all countries ({condition})", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def covariates_figure(
    models: pl.DataFrame, countries: pl.DataFrame, covariates: pl.DataFrame, condition: str
) -> MplFigure:
    """Fig. 6: mean DR against each covariate (models: mean over countries; countries: mean over
    models), with Spearman's rho and n in each panel."""
    panels = []
    for kind, ranking, key in (("model", models, "model"), ("country", countries, "country")):
        table = covariates.filter(pl.col("kind") == kind)
        if table.is_empty() or ranking.is_empty():
            continue
        joined = ranking.filter(pl.col("condition") == condition).join(table, left_on=key, right_on="name")
        for column in [c for c in covariates.columns if c not in COVARIATE_KEYS]:
            part = joined.filter(pl.col(column).is_not_null() & pl.col("dr").is_not_null())
            if part.height:
                panels.append((kind, column, part))
    if not panels:
        raise DataError("no covariate matches a model or country of this run (check the names)")
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig = new_figure(FULL_WIDTH_IN, 2.4 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False).ravel())
    for ax, (kind, column, part) in zip(axes, panels, strict=False):
        ax.scatter(part[column], part["dr"], s=16, color=OKABE_ITO["blue"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = stats.spearmanr(part[column], part["dr"]).statistic if part.height > 2 else float("nan")
        ax.set_xlabel(column)
        ax.set_ylabel(f"mean DR per {kind}")
        ax.set_title(f"ρ = {rho:.2f}, n = {part.height} {kind}s", fontsize=8)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(f"Alignment against covariates ({condition}); Spearman ρ describes, it does not test", fontsize=9)
    return fig


def language_scores(answers: pl.DataFrame, dims: pl.DataFrame, constants: dict, normalisation: str) -> pl.DataFrame:
    """Per model, prompt language and dimension: the score over all country personas (item means
    per country and language, then the manual's formula) and its mean absolute gap to the countries'
    published scores."""
    from culturalign.probes.vsm.scores import raw_indices, scaling_from_settings

    ok = answers.filter(pl.col("choice").is_not_null())
    if ok.is_empty():
        raise DataError("no readable answers")
    means = ok.group_by("model", "country", "language", "item").agg(pl.col("choice").cast(pl.Float64).mean())
    wide = means.pivot(on="item", index=["model", "country", "language"], values="choice")
    items = [str(i) for i in range(1, 25)]
    for item in items:
        if item not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(item))
    matrix = wide.select(items).to_numpy().astype(float)
    scores = scaling_from_settings(constants, normalisation).apply(raw_indices(matrix))
    long = pl.concat(
        [
            wide.select("model", "country", "language").with_columns(
                pl.lit(dim).alias("dimension"), pl.Series("score", scores[:, d])
            )
            for d, dim in enumerate(DIMENSIONS)
        ]
    )
    truth = dims.group_by("country", "dimension").agg(pl.col("ground_truth").first())
    return (
        long.join(truth, on=["country", "dimension"], how="left")
        .with_columns((pl.col("score") - pl.col("ground_truth")).abs().alias("abs_gap"))
        .group_by("model", "language", "dimension")
        .agg(
            pl.col("score").mean().alias("mean_score"),
            pl.col("abs_gap").mean().alias("mean_abs_gap"),
            pl.col("score").is_not_null().sum().alias("n_countries"),
        )
        .sort("model", "language", "dimension")
    )


def language_scores_figure(per_language: pl.DataFrame) -> MplFigure:
    """Mean absolute gap to the published scores per prompt language and dimension (over models and countries)."""
    table = per_language.group_by("language", "dimension").agg(pl.col("mean_abs_gap").mean())
    languages = sorted(table["language"].unique().to_list())
    grid = np.full((len(languages), len(DIMENSIONS)), np.nan)
    for r in table.iter_rows(named=True):
        if r["dimension"] in DIMENSIONS and r["mean_abs_gap"] is not None:
            grid[languages.index(r["language"]), DIMENSIONS.index(r["dimension"])] = r["mean_abs_gap"]
    fig = new_figure(FULL_WIDTH_IN * 0.6, 0.8 + 0.28 * len(languages))
    ax = fig.subplots()
    image = ax.imshow(grid, aspect="auto", cmap="viridis_r")
    ax.set_xticks(range(len(DIMENSIONS)), [d.upper() for d in DIMENSIONS])
    ax.set_yticks(range(len(languages)), languages)
    fig.colorbar(image, ax=ax, label="mean |score - published|")
    ax.set_title("Gap to the published scores per prompt language", fontsize=9)
    return fig


def model_metrics_figure(models: pl.DataFrame, condition: str) -> MplFigure:
    """Model ranking by both metrics: DR (higher is better) and mean absolute difference (lower is better)."""
    rows = models.filter(pl.col("condition") == condition).sort("dr", descending=False, nulls_last=False)
    if rows.is_empty():
        raise DataError(f"no model ranking in condition {condition}")
    names = rows["model"].to_list()
    y = np.arange(len(names))
    fig = new_figure(FULL_WIDTH_IN, 0.9 + 0.28 * len(names))
    left, right = fig.subplots(1, 2, sharey=True)
    dr = rows["dr"].fill_null(np.nan).to_numpy()
    low = rows["dr_low"].fill_null(np.nan).to_numpy() if "dr_low" in rows.columns else dr
    high = rows["dr_high"].fill_null(np.nan).to_numpy() if "dr_high" in rows.columns else dr
    left.barh(y, np.nan_to_num(dr), color=OKABE_ITO["blue"])
    ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(dr)
    left.errorbar(
        dr[ok],
        y[ok],
        xerr=np.clip(np.vstack([dr - low, high - dr])[:, ok], 0, None),
        fmt="none",
        ecolor="#333333",
        capsize=2,
    )
    left.axvline(1.0, color=NEUTRAL_GREY, linestyle="--", linewidth=0.8)
    left.set_yticks(y, names)
    left.set_xlabel("deviation ratio (higher is better)")
    right.barh(y, rows["mean_difference"].fill_null(np.nan).to_numpy(), color=OKABE_ITO["orange"])
    right.set_xlabel("mean |score - published| (lower is better)")
    fig.suptitle(f"Model ranking by both metrics ({condition})", fontsize=9)
    return fig


def radar_with_average(scores: pl.DataFrame, condition: str) -> MplFigure:
    """The radar charts with one more line: the mean published score over the countries shown (the
    "overall average" a country is compared against)."""
    from culturalign.probes.vsm.figures import radar_figure

    fig = radar_figure(scores, condition)
    rows = scores.filter(pl.col("condition") == condition)
    average = (
        rows.group_by("country", "dimension")
        .agg(pl.col("ground_truth").first())
        .group_by("dimension")
        .agg(pl.col("ground_truth").mean())
    )
    lookup = dict(zip(average["dimension"], average["ground_truth"], strict=True))
    line = _closed([float(lookup.get(d, np.nan)) for d in DIMENSIONS])
    angles = _closed([2 * math.pi * i / len(DIMENSIONS) for i in range(len(DIMENSIONS))])
    polar = [ax for ax in fig.axes if ax.name == "polar"]
    for ax in polar:
        ax.plot(angles, line, color=NEUTRAL_GREY, linestyle="--", linewidth=1.0, label="overall average")
    if polar:
        for legend in fig.legends:
            legend.remove()
        handles, labels = polar[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig
