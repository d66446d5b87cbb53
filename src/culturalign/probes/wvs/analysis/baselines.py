"""Reference pseudo-models: what alignment looks like without a model's opinions.

- uniform random: VPS drawn uniformly from [0, 1) (the RQ2 reference; alignment ~ 0);
- fifty percent: VPS around 0.5 (normal, sd 0.01, clipped to [0, 1]);
- perfect: the population's own ground truth rounded to one decimal (the ceiling a
  one-decimal answer could reach; it depends on the population, so it is set after the join).

Baseline rows copy the items of a template model's responses, so they have the same item mix
and sample size as a real model.
"""

from __future__ import annotations

import numpy as np
import polars as pl

UNIFORM = "Baseline_uniform_random"
FIFTY = "Baseline_fifty_percent"
PERFECT = "Baseline_perfect"
BASELINE_FAMILY = "Baseline"
FIFTY_SD = 0.01


def is_baseline(model: pl.Expr) -> pl.Expr:
    return model.str.starts_with("Baseline_")


def template_rows(responses: pl.DataFrame) -> pl.DataFrame:
    """Per prompt language, the rows of the first model (in file order) that answered in it."""
    real = responses.filter(~is_baseline(pl.col("model")))
    first = real.group_by("language", maintain_order=True).agg(pl.col("model").first().alias("_template"))
    return real.join(first, on="language").filter(pl.col("model") == pl.col("_template")).drop("_template")


def make_baselines(responses: pl.DataFrame, rng: np.random.Generator, *, perfect: bool = True) -> pl.DataFrame:
    """Uniform, fifty-percent and (placeholder) perfect pseudo-model rows in the response layout."""
    template = template_rows(responses).select("model", "family", "language", "response_language", "item", "vps")
    n = template.height
    frames = [
        template.with_columns(
            pl.lit(FIFTY).alias("model"), pl.Series("vps", np.clip(rng.normal(0.5, FIFTY_SD, n), 0, 1))
        ),
        template.with_columns(pl.lit(UNIFORM).alias("model"), pl.Series("vps", rng.uniform(0.0, 1.0, n))),
    ]
    if perfect:
        frames.append(template.with_columns(pl.lit(PERFECT).alias("model"), pl.lit(np.nan).alias("vps")))
    return pl.concat(frames).with_columns(pl.lit(BASELINE_FAMILY).alias("family"))


def fill_perfect(joined: pl.DataFrame) -> pl.DataFrame:
    """Give the perfect baseline the ground truth of each row's population, rounded to one decimal."""
    return joined.with_columns(
        pl.when(pl.col("model") == PERFECT).then(pl.col("truth").round(1)).otherwise(pl.col("vps")).alias("vps")
    )


def redraw_released_baselines(responses: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Replace the fifty-percent and uniform pseudo-models by a fresh draw, built as the released
    analysis built them: all rows of the first model in file order, with random scores."""
    real = responses.filter(~is_baseline(pl.col("model")))
    first = real["model"][0]
    template = real.filter(pl.col("model") == first)
    n = template.height
    fresh = [
        template.with_columns(
            pl.lit(FIFTY).alias("model"), pl.Series("vps", np.clip(rng.normal(0.5, FIFTY_SD, n), 0, 1))
        ),
        template.with_columns(pl.lit(UNIFORM).alias("model"), pl.Series("vps", rng.uniform(0.0, 1.0, n))),
    ]
    return pl.concat([real, *(f.with_columns(pl.lit(BASELINE_FAMILY).alias("family")) for f in fresh)])
