"""Human quality control of the labels, in the layout of the paper's Table 2.

The human file is a CSV with one row per (statement, dimension, annotator): columns
`statement_id`, `dimension`, `annotator`, and `relevant` (yes/no, 1/0, true/false) and/or
`polarity` (-2..2). Per dimension and overall:
- relevance precision: among the pairs the judges kept as relevant, the share of human
  judgements that confirm it (Wilson 95% interval, n = judgements);
- inter-annotator MAE: mean |a - b| over every pair of annotators who both scored a pair;
- human vs LLM MAE: |median of the annotators - the judges' label| averaged over pairs.
MAE intervals are 95% percentile bootstrap intervals over statement x dimension pairs.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from culturalign.analysis.bootstrap import nan_quantile, resample_rounds
from culturalign.errors import DataError
from culturalign.tables import read_table, require_columns

_TRUE = {"1", "yes", "true", "y", "relevant"}
_FALSE = {"0", "no", "false", "n", "not relevant"}
ALL = "all"


def load_human(path: str | Path) -> pl.DataFrame:
    """The human annotations, checked: statement_id, dimension, annotator, relevant (bool|null), polarity (int|null)."""
    path = Path(path)
    human = read_table(path)
    require_columns(human, ["statement_id", "dimension", "annotator"], f"human file {path.name}")
    if "relevant" not in human.columns and "polarity" not in human.columns:
        raise DataError(f"human file {path.name} has neither a relevant nor a polarity column; add at least one")
    human = human.with_columns(
        pl.col("statement_id").cast(pl.Utf8),
        pl.col("annotator").cast(pl.Utf8),
        pl.col("dimension").cast(pl.Utf8).str.to_lowercase().replace({"ind": "ivr"}),
    )
    relevant: list[bool | None] = []
    for value in human["relevant"].cast(pl.Utf8).to_list() if "relevant" in human.columns else [None] * human.height:
        text = None if value is None else value.strip().lower()
        if text in (None, ""):
            relevant.append(None)
        elif text in _TRUE or text in _FALSE:
            relevant.append(text in _TRUE)
        else:
            raise DataError(f"human file {path.name}: relevant {value!r} is not yes/no, 1/0 or true/false")
    polarity = (
        human["polarity"].cast(pl.Float64, strict=False)
        if "polarity" in human.columns
        else pl.Series([None] * human.height, dtype=pl.Float64)
    )
    raw = human["polarity"].cast(pl.Utf8) if "polarity" in human.columns else polarity.cast(pl.Utf8)
    for given, number in zip(raw.to_list(), polarity.to_list(), strict=True):
        if given not in (None, "") and (number is None or number not in (-2, -1, 0, 1, 2)):
            raise DataError(f"human file {path.name}: polarity {given!r} is not a whole number from -2 to 2")
    return human.select("statement_id", "dimension", "annotator").with_columns(
        pl.Series("relevant", relevant, dtype=pl.Boolean), polarity.alias("polarity")
    )


def _bootstrap_ci(values: list[np.ndarray], rounds: int, rng: np.random.Generator) -> tuple[float, float]:
    """Interval of sum(values)/count over items: each item holds its absolute differences."""
    if not values:
        return float("nan"), float("nan")
    sums = np.array([v.sum() for v in values])
    counts = np.array([len(v) for v in values])
    idx = resample_rounds(rng, len(values), rounds)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    return float(nan_quantile(boot, 0.025)), float(nan_quantile(boot, 0.975))


def _inter_annotator(part: pl.DataFrame) -> list[np.ndarray]:
    scored = part.filter(pl.col("polarity").is_not_null())
    out = []
    for _, item in scored.group_by("statement_id", "dimension"):
        values = item["polarity"].to_list()
        diffs = [abs(a - b) for a, b in combinations(values, 2)]
        if diffs:
            out.append(np.array(diffs, dtype=float))
    return out


def _human_vs_llm(part: pl.DataFrame, labels: pl.DataFrame) -> list[np.ndarray]:
    medians = (
        part.filter(pl.col("polarity").is_not_null())
        .group_by("statement_id", "dimension")
        .agg(pl.col("polarity").median().alias("human"))
    )
    joined = medians.join(
        labels.filter(pl.col("polarity").is_not_null()).select(
            "statement_id", "dimension", pl.col("polarity").alias("llm")
        ),
        on=["statement_id", "dimension"],
        how="inner",
    )
    return [np.array([abs(h - m)]) for h, m in zip(joined["human"].to_list(), joined["llm"].to_list(), strict=True)]


def _precision(part: pl.DataFrame, labels: pl.DataFrame) -> tuple[float | None, float | None, float | None, int]:
    kept = labels.filter(pl.col("relevant")).select("statement_id", "dimension")
    judged = part.filter(pl.col("relevant").is_not_null()).join(kept, on=["statement_id", "dimension"], how="inner")
    n = judged.height
    if n == 0:
        return None, None, None, 0
    confirmed = int(judged["relevant"].sum())
    low, high = proportion_confint(confirmed, n, alpha=0.05, method="wilson")
    return confirmed / n, float(low), float(high), n


def quality_table(human: pl.DataFrame, labels: pl.DataFrame, rounds: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Table 2 layout: one row per dimension (and `all`) with precision, both MAEs, intervals and n."""
    rng = np.random.default_rng(seed)
    labels = labels.with_columns(
        pl.col("statement_id").cast(pl.Utf8), pl.col("relevant").cast(pl.Boolean), pl.col("polarity").cast(pl.Float64)
    )
    dimensions = sorted(set(human["dimension"].to_list()))
    rows = []
    for dimension in [*dimensions, ALL]:
        part = human if dimension == ALL else human.filter(pl.col("dimension") == dimension)
        precision, p_low, p_high, n_rel = _precision(part, labels)
        inter = _inter_annotator(part)
        versus = _human_vs_llm(part, labels)
        inter_low, inter_high = _bootstrap_ci(inter, rounds, rng)
        vs_low, vs_high = _bootstrap_ci(versus, rounds, rng)
        rows.append(
            {
                "dimension": dimension,
                "relevance_precision": precision,
                "precision_ci_low": p_low,
                "precision_ci_high": p_high,
                "n_relevance_judgements": n_rel,
                "inter_annotator_mae": float(np.concatenate(inter).mean()) if inter else None,
                "inter_ci_low": inter_low if inter else None,
                "inter_ci_high": inter_high if inter else None,
                "n_annotator_pairs": int(sum(len(v) for v in inter)),
                "human_vs_llm_mae": float(np.concatenate(versus).mean()) if versus else None,
                "versus_ci_low": vs_low if versus else None,
                "versus_ci_high": vs_high if versus else None,
                "n_statement_pairs": len(versus),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def labels_from(source: str | Path) -> pl.DataFrame:
    """LLM labels from a labelled-set file, or from an analysis folder holding statement_labels."""
    from culturalign.probes.statements.labelling import LABELS_STEM, load_labels

    source = Path(source)
    if source.is_dir():
        found = next(
            (source / f"{LABELS_STEM}{s}" for s in (".parquet", ".csv") if (source / f"{LABELS_STEM}{s}").is_file()),
            None,
        )
        if found is None:
            raise DataError(f"{source} holds no {LABELS_STEM}.csv; give the labelled-set file itself")
        source = found
    return load_labels(source)


def quality_control(
    human_file: str | Path,
    labels_source: str | Path,
    output: str | Path | None = None,
    rounds: int = 1000,
    seed: int = 0,
) -> pl.DataFrame:
    """The Table 2 comparison of a human file with the LLM labels; written to `output` (CSV/Parquet)
    when given, e.g. into an analysis folder as qc.csv so the report shows it."""
    from culturalign.tables import write_table

    table = quality_table(load_human(human_file), labels_from(labels_source), rounds=rounds, seed=seed)
    if output is not None:
        write_table(table, output)
    return table
