"""Cultural alignment and self-consistency, bootstrapped.

Alignment of a group (model, prompt language, population) is the Spearman correlation between
each response's VPS and the ground-truth VPS of that response's item, over the group's
responses. A *resampling domain* says what one bootstrap round draws: the plain responses
(clean analysis: the same draw for every group and level), or the rows of a joined table
(the released analysis: the joined table of one ground-truth level). Every round also yields
self-consistency per (model, language) from the same draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from culturalign.analysis.bootstrap import PairDesign, SpearmanDesign, draw_counts

ALIGN_KEYS = ["model", "family", "language", "population_kind", "population"]
CONSISTENCY_KEYS = ["model", "family", "language"]


def join_truth(responses: pl.DataFrame, truth: pl.DataFrame, kinds: tuple[str, ...] | None = None) -> pl.DataFrame:
    """One row per (response, population) whose item has ground truth; `unit` is the response row."""
    gt = truth if kinds is None else truth.filter(pl.col("population_kind").is_in(list(kinds)))
    gt = gt.select("population_kind", "population", "item", pl.col("vps").alias("truth"))
    base = responses if "unit" in responses.columns else responses.with_row_index("unit")
    return base.join(gt, on="item", how="inner").sort(["unit", "population_kind", "population"], maintain_order=True)


def group_codes(df: pl.DataFrame, keys: list[str]) -> tuple[np.ndarray, pl.DataFrame]:
    """Dense codes 0..G-1 for the key tuples of each row, and the key table in code order."""
    table = df.select(keys).unique(maintain_order=True).sort(keys).with_row_index("_code")
    codes = df.select(keys).join(table, on=keys, how="left", maintain_order="left")["_code"].to_numpy()
    return codes.astype(np.int64), table.drop("_code")


def _item_codes(items: pl.Series) -> np.ndarray:
    return items.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)


@dataclass
class Domain:
    """What one bootstrap round resamples, and the groups computed from each draw.

    `aligned` rows: unit, model, family, language, population_kind, population, vps, truth.
    `paired` rows (optional): unit, model, family, language, item, vps."""

    name: str
    aligned: pl.DataFrame
    n_units: int
    paired: pl.DataFrame | None = None
    exclude_same_unit: bool = True


@dataclass
class DomainRounds:
    name: str
    align_keys: pl.DataFrame
    align_rounds: np.ndarray  # rounds x groups
    align_point: np.ndarray  # groups, on the data as it is
    align_sizes: pl.DataFrame  # n_responses, n_items per group
    cons_keys: pl.DataFrame | None
    cons_rounds: np.ndarray | None
    cons_point: np.ndarray | None


def bootstrap_domain(domain: Domain, rng: np.random.Generator, rounds: int) -> DomainRounds:
    """All rounds of one domain: every alignment group and every consistency group per draw."""
    aligned = domain.aligned
    codes, keys = group_codes(aligned, ALIGN_KEYS)
    design = SpearmanDesign.build(
        aligned["unit"].to_numpy(), codes, aligned["vps"].to_numpy(), aligned["truth"].to_numpy(), domain.n_units
    )
    pairs = None
    cons_keys = None
    if domain.paired is not None and domain.paired.height:
        pcodes, cons_keys = group_codes(domain.paired, CONSISTENCY_KEYS)
        pairs = PairDesign.build(
            domain.paired["unit"].to_numpy(),
            pcodes,
            _item_codes(domain.paired["item"]),
            domain.paired["vps"].to_numpy(),
            domain.n_units,
            exclude_same_unit=domain.exclude_same_unit,
        )
    align_chunks, cons_chunks = [], []
    for counts in draw_counts(rng, domain.n_units, rounds):
        align_chunks.append(design.spearman(counts))
        if pairs is not None:
            cons_chunks.append(pairs.spearman(counts))
    sizes = (
        aligned.group_by(ALIGN_KEYS)
        .agg(pl.len().alias("n_responses"), pl.col("item").n_unique().alias("n_items"))
        if "item" in aligned.columns
        else aligned.group_by(ALIGN_KEYS).agg(pl.len().alias("n_responses"), pl.lit(None).alias("n_items"))
    )
    return DomainRounds(
        name=domain.name,
        align_keys=keys,
        align_rounds=np.vstack(align_chunks) if align_chunks else np.empty((0, keys.height)),
        align_point=design.point(),
        align_sizes=keys.join(sizes, on=ALIGN_KEYS, how="left", maintain_order="left"),
        cons_keys=cons_keys,
        cons_rounds=(np.vstack(cons_chunks) if cons_chunks else None) if pairs is not None else None,
        cons_point=pairs.point() if pairs is not None else None,
    )


def summarise(keys: pl.DataFrame, rounds: np.ndarray, point: np.ndarray | None = None, level: float = 0.95) -> pl.DataFrame:
    """Mean over rounds and the percentile interval per group (nan rounds ignored)."""
    tail = (1.0 - level) / 2.0 * 100.0
    with np.errstate(all="ignore"):
        if rounds.shape[0]:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(rounds, axis=0)
                low = np.nanpercentile(rounds, tail, axis=0)
                high = np.nanpercentile(rounds, 100.0 - tail, axis=0)
        else:
            mean = low = high = np.full(keys.height, np.nan)
    out = keys.with_columns(
        pl.Series("mean", mean, dtype=pl.Float64),
        pl.Series("ci_low", low, dtype=pl.Float64),
        pl.Series("ci_high", high, dtype=pl.Float64),
    )
    if point is not None:
        out = out.with_columns(pl.Series("estimate", point, dtype=pl.Float64))
    return out.with_columns(pl.col("mean", "ci_low", "ci_high").fill_nan(None))


def rounds_long(keys: pl.DataFrame, rounds: np.ndarray, measure: str) -> pl.DataFrame:
    """Rounds as a long table: one row per group and round."""
    n_rounds, n_groups = rounds.shape
    repeated = keys.select(pl.all().repeat_by(n_rounds).flatten()) if n_groups else keys
    return repeated.with_columns(
        pl.Series("round", np.tile(np.arange(n_rounds), n_groups), dtype=pl.Int32),
        pl.lit(measure).alias("measure"),
        pl.Series("value", rounds.T.reshape(-1), dtype=pl.Float64),
    )
