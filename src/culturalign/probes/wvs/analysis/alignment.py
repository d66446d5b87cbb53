"""Cultural alignment and self-consistency, bootstrapped.

Alignment of a group (model, prompt language, population) is the Spearman correlation between
each response's VPS and the ground-truth VPS of that response's item, over the group's
responses. A *resampling domain* says what one bootstrap round draws: the plain responses
(clean analysis: the same draw for every group and level), or the rows of a joined table
(the released analysis: the joined table of one ground-truth level). Every round also yields
self-consistency per (model, language) from the same draw.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from culturalign.analysis.bootstrap import PairDesign, SpearmanDesign, draw_counts, percentile_interval

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
class PairSet:
    """Rows for one self-consistency definition: unit, model, family, language, item, vps."""

    rows: pl.DataFrame
    exclude_same_unit: bool


@dataclass
class Domain:
    """What one bootstrap round resamples, and the groups computed from each draw.

    `aligned` rows: unit, model, family, language, population_kind, population, item, vps, truth.
    `pairs`: named self-consistency definitions computed from the same draws."""

    name: str
    aligned: pl.DataFrame
    n_units: int
    pairs: dict[str, PairSet] = field(default_factory=dict)


@dataclass
class GroupRounds:
    keys: pl.DataFrame
    rounds: np.ndarray  # rounds x groups
    point: np.ndarray  # groups, on the data as it is


@dataclass
class DomainRounds:
    name: str
    alignment: GroupRounds
    sizes: pl.DataFrame  # keys + n_responses, n_items
    consistency: dict[str, GroupRounds]


def bootstrap_domain(domain: Domain, rng: np.random.Generator, rounds: int) -> DomainRounds:
    """All rounds of one domain: every alignment group and every consistency group per draw."""
    aligned = domain.aligned
    codes, keys = group_codes(aligned, ALIGN_KEYS)
    design = SpearmanDesign.build(
        aligned["unit"].to_numpy(), codes, aligned["vps"].to_numpy(), aligned["truth"].to_numpy(), domain.n_units
    )
    pair_designs: dict[str, tuple[pl.DataFrame, PairDesign]] = {}
    for name, pair_set in domain.pairs.items():
        if pair_set.rows.is_empty():
            continue
        pcodes, pkeys = group_codes(pair_set.rows, CONSISTENCY_KEYS)
        pair_designs[name] = (
            pkeys,
            PairDesign.build(
                pair_set.rows["unit"].to_numpy(),
                pcodes,
                _item_codes(pair_set.rows["item"]),
                pair_set.rows["vps"].to_numpy(),
                domain.n_units,
                exclude_same_unit=pair_set.exclude_same_unit,
            ),
        )
    align_chunks: list[np.ndarray] = []
    pair_chunks: dict[str, list[np.ndarray]] = {name: [] for name in pair_designs}
    for counts in draw_counts(rng, domain.n_units, rounds):
        align_chunks.append(design.spearman(counts))
        for name, (_, pair_design) in pair_designs.items():
            pair_chunks[name].append(pair_design.spearman(counts))
    sizes = aligned.group_by(ALIGN_KEYS).agg(pl.len().alias("n_responses"), pl.col("item").n_unique().alias("n_items"))

    def stack(chunks: list[np.ndarray], width: int) -> np.ndarray:
        return np.vstack(chunks) if chunks else np.empty((0, width))

    return DomainRounds(
        name=domain.name,
        alignment=GroupRounds(keys, stack(align_chunks, keys.height), design.point()),
        sizes=keys.join(sizes, on=ALIGN_KEYS, how="left", maintain_order="left"),
        consistency={
            name: GroupRounds(pkeys, stack(pair_chunks[name], pkeys.height), pdesign.point())
            for name, (pkeys, pdesign) in pair_designs.items()
        },
    )


def corrected(rounds: GroupRounds, error_rate: float) -> GroupRounds:
    """Attenuation correction of self-consistency for judge error: divide by (1 - e)."""
    factor = 1.0 / (1.0 - error_rate)
    return GroupRounds(rounds.keys, rounds.rounds * factor, rounds.point * factor)


def summarise(
    keys: pl.DataFrame, rounds: np.ndarray, point: np.ndarray | None = None, level: float = 0.95
) -> pl.DataFrame:
    """Mean over rounds and the percentile interval per group (rounds without a value ignored)."""
    mean = low = high = np.full(keys.height, np.nan)
    if rounds.shape[0]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan group stays nan
            mean = np.nanmean(rounds, axis=0)
        low, high = percentile_interval(rounds, level)
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
    repeated = keys.select(pl.all().gather(np.repeat(np.arange(n_groups), n_rounds)))
    return repeated.with_columns(
        pl.Series("round", np.tile(np.arange(n_rounds), n_groups), dtype=pl.Int32),
        pl.lit(measure).alias("measure"),
        pl.Series("value", rounds.T.reshape(-1), dtype=pl.Float64),
    )
