"""Self-consistency within and between prompt languages.

Within a language: Spearman over ordered pairs of distinct responses of one model to the same
item in that language. Between two languages: the same over pairs whose two responses come
from different prompt languages. If the prompt language did not change the answers, the two
would agree; lower between-language consistency shows that it does (the paper's supplement).
Both are divided by (1 - e) for judge error e.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import spearmanr

CROSS_COLUMNS = ["model", "family", "comparison", "language_a", "language_b", "consistency", "n_pairs"]


def attenuation_corrected(value: float | np.ndarray, error_rate: float) -> float | np.ndarray:
    """Correct a correlation of judged scores for judge error: divide by (1 - e)."""
    if not 0 <= error_rate < 1:
        raise ValueError("the judge error rate must lie in [0, 1)")
    return value / (1.0 - error_rate)


def _pairs(responses: pl.DataFrame) -> pl.DataFrame:
    left = responses.select("model", "family", "language", "item", "vps").with_row_index("row")
    right = left.select(
        "model",
        "item",
        pl.col("row").alias("row_b"),
        pl.col("language").alias("language_b"),
        pl.col("vps").alias("vps_b"),
    )
    return left.join(right, on=["model", "item"]).filter(pl.col("row") != pl.col("row_b"))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def cross_language_consistency(responses: pl.DataFrame, error_rate: float) -> pl.DataFrame:
    """Within-language consistency per (model, language) and between-language per (model, language pair)."""
    pairs = _pairs(responses).with_columns(
        pl.min_horizontal("language", "language_b").alias("language_a_"),
        pl.max_horizontal("language", "language_b").alias("language_b_"),
    )
    rows = []
    for (model, family, lang_a, lang_b), group in pairs.group_by(
        "model", "family", "language_a_", "language_b_", maintain_order=True
    ):
        value = _spearman(group["vps"].to_numpy(), group["vps_b"].to_numpy())
        rows.append(
            {
                "model": model,
                "family": family,
                "comparison": "within" if lang_a == lang_b else "between",
                "language_a": lang_a,
                "language_b": lang_b,
                "consistency": attenuation_corrected(value, error_rate),
                "n_pairs": group.height,
            }
        )
    schema = {
        "model": pl.Utf8,
        "family": pl.Utf8,
        "comparison": pl.Utf8,
        "language_a": pl.Utf8,
        "language_b": pl.Utf8,
        "consistency": pl.Float64,
        "n_pairs": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema).sort("model", "comparison", "language_a", "language_b")


def within_between_summary(cross: pl.DataFrame) -> pl.DataFrame:
    """Per model: mean within- vs between-language consistency and their difference."""
    wide = (
        cross.group_by("model", "family", "comparison")
        .agg(pl.col("consistency").mean())
        .pivot(on="comparison", index=["model", "family"], values="consistency")
    )
    for column in ("within", "between"):
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
    return wide.with_columns((pl.col("within") - pl.col("between")).alias("difference")).sort("model")
