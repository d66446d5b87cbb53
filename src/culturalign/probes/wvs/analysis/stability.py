"""How often the paper's conclusions hold when the released chain is re-run with new seeds.

With 100 bootstrap rounds the released estimates move between runs by up to a couple of
printed SEs, so one run cannot tell a robust class from a lucky one. Each re-run repeats the
language- and country-level bootstrap and both regressions with an independent seed (the
baseline draws stay the released ones unless asked otherwise); per RQ1 coefficient and US-bias term we report the
spread and the share of re-runs whose class (pos/neg/ns at .05) is the paper's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from culturalign.probes.wvs.analysis.baselines import redraw_released_baselines
from culturalign.probes.wvs.analysis.paper import compare_with_paper

STABILITY_COLUMNS = [
    "section",
    "term",
    "model",
    "family",
    "language",
    "paper_coef",
    "paper_class",
    "reruns",
    "mean",
    "sd",
    "min",
    "max",
    "share_class_holds",
    "share_pos",
    "share_neg",
    "share_ns",
]


def stability_table(
    responses: pl.DataFrame,
    rerun: Callable[[pl.DataFrame, np.random.SeedSequence], Any],
    seed_sequence: np.random.SeedSequence,
    reruns: int,
    fresh_baselines: bool = False,
) -> pl.DataFrame:
    """`rerun(responses, seed)` is one run of the released analysis (its rq1 and rq2 compared with the
    paper). With `fresh_baselines`, every re-run also draws new baseline pseudo-models, so the
    US-bias classes show how much they owe to one baseline draw."""
    frames = []
    for index, child in enumerate(seed_sequence.spawn(reruns)):
        run_seed, baseline_seed = child.spawn(2)
        rows = (
            redraw_released_baselines(responses, np.random.default_rng(baseline_seed)) if fresh_baselines else responses
        )
        run = rerun(rows, run_seed)
        frames.append(compare_with_paper(run.rq1, run.rq2).with_columns(pl.lit(index).alias("rerun")))
    return summarise_reruns(pl.concat(frames))


def summarise_reruns(per_run: pl.DataFrame) -> pl.DataFrame:
    """Spread and class shares per term over re-runs (per_run: compare_with_paper rows + rerun)."""
    return (
        per_run.group_by(
            "section", "term", "model", "family", "language", "paper_coef", "paper_class", maintain_order=True
        )
        .agg(
            pl.len().alias("reruns"),
            pl.col("coef").mean().alias("mean"),
            pl.col("coef").std().alias("sd"),
            pl.col("coef").min().alias("min"),
            pl.col("coef").max().alias("max"),
            pl.col("class_agrees").mean().alias("share_class_holds"),
            (pl.col("class") == "pos").mean().alias("share_pos"),
            (pl.col("class") == "neg").mean().alias("share_neg"),
            (pl.col("class") == "ns").mean().alias("share_ns"),
        )
        .select(STABILITY_COLUMNS)
    )
