"""The paired bootstrap: every model of a cell is recomputed from the same draw of shared units.

A *cell* is one language (wvs, statements) or prompt condition (vsm) with the entries (model,
and the run it came from) measured in it. A bootstrap round draws the cell's units (items,
countries or statements) with replacement, as counts; the same counts weigh every entry, so a
difference between two entries is computed round by round from one resample (paired). When the
entries share no unit, each entry's own units are drawn independently instead (unpaired, and
labelled so): the difference then carries both models' noise in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import polars as pl

from culturalign.analysis.inference import holm, wald_p

PAIRED = "paired: shared units resampled jointly (the same draw for both models)"
UNPAIRED = "unpaired: no shared units, each model's own units resampled independently"
ALPHA = 0.05


@dataclass
class Cell:
    """One language or condition of one probe, ready to bootstrap.

    `statistic(counts)` maps unit counts (rounds x n_units) to the measure (rounds x entries).
    `owner[u]` is the entry a unit belongs to when unpaired (-1: shared by all)."""

    probe: str
    cell: str
    entries: list[str]
    statistic: Callable[[np.ndarray], np.ndarray]
    n_units: int
    owner: np.ndarray
    n_per_entry: list[int]  # units (items, countries, statements) each entry was measured on
    higher_is_better: bool
    unit_kind: str
    notes: list[str] = field(default_factory=list)
    n_obs: list[int] = field(default_factory=list)  # rows behind each entry (responses, scores)

    @property
    def paired(self) -> bool:
        return bool((self.owner < 0).all())


def draw(cell: Cell, rng: np.random.Generator, rounds: int) -> np.ndarray:
    """Unit counts per round: one multinomial over the shared units, or one per entry's own units."""
    counts = np.zeros((rounds, cell.n_units))
    blocks = (
        [np.flatnonzero(cell.owner < 0)]
        if cell.paired
        else [np.flatnonzero(cell.owner == e) for e in range(len(cell.entries))]
    )
    for units in blocks:
        if units.size:
            counts[:, units] = rng.multinomial(units.size, np.full(units.size, 1.0 / units.size), size=rounds)
    return counts


@dataclass
class CellDraws:
    cell: Cell
    point: np.ndarray  # entries
    rounds: np.ndarray  # rounds x entries


def bootstrap_cell(cell: Cell, rng: np.random.Generator, rounds: int) -> CellDraws:
    point = cell.statistic(np.ones((1, cell.n_units)))[0]
    return CellDraws(cell, point, cell.statistic(draw(cell, rng, rounds)))


def percentiles(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column, ignoring non-finite rounds (one sort, no Python loop)."""
    clean = np.where(np.isfinite(draws), draws, np.nan)
    ordered = np.sort(clean, axis=0)  # NaN sort last
    n = np.isfinite(clean).sum(axis=0)
    out = []
    for q in ((1 - level) / 2, (1 + level) / 2):
        position = q * np.maximum(n - 1, 0)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, np.maximum(n - 1, 0))
        lo = np.take_along_axis(ordered, below[None], axis=0)[0]
        hi = np.take_along_axis(ordered, above[None], axis=0)[0]
        out.append(np.where(n == 0, np.nan, lo + (hi - lo) * (position - below)))
    return out[0], out[1]


def estimates_table(results: list[CellDraws], level: float = 0.95) -> pl.DataFrame:
    rows = []
    for res in results:
        low, high = percentiles(res.rounds, level)
        for i, entry in enumerate(res.cell.entries):
            rows.append({
                "probe": res.cell.probe, "cell": res.cell.cell, "entry": entry, "estimate": _num(res.point[i]),
                "ci_low": _num(low[i]), "ci_high": _num(high[i]), "n": res.cell.n_per_entry[i],
                "n_obs": res.cell.n_obs[i] if res.cell.n_obs else res.cell.n_per_entry[i],
                "unit": res.cell.unit_kind, "resampling": PAIRED if res.cell.paired else UNPAIRED,
                "rounds": res.rounds.shape[0], "higher_is_better": res.cell.higher_is_better,
            })  # fmt: skip
    return pl.DataFrame(rows, schema=ESTIMATE_SCHEMA, orient="row")


def pairs_table(results: list[CellDraws], level: float = 0.95, alpha: float = ALPHA) -> pl.DataFrame:
    """Every pair of entries in every cell: difference a - b, percentile interval, p and Holm-adjusted p.

    p is two-sided from the bootstrap standard error of the paired difference (normal
    approximation); Holm's correction runs over every comparison of the probe in this call
    (family-wise error rate alpha across all pairs and cells)."""
    frames = []
    for res in results:
        pairs = list(combinations(range(len(res.cell.entries)), 2))
        if not pairs:
            continue
        ia, ib = (np.array(side) for side in zip(*pairs, strict=True))
        diff = res.rounds[:, ia] - res.rounds[:, ib]
        low, high = percentiles(diff, level)
        p = wald_p(res.point[ia] - res.point[ib], diff, n_units=_units(res.cell))
        entries = np.array(res.cell.entries, dtype=object)
        frames.append(
            pl.DataFrame(
                {
                    "probe": res.cell.probe,
                    "cell": res.cell.cell,
                    "entry_a": entries[ia].tolist(),
                    "entry_b": entries[ib].tolist(),
                    "difference": res.point[ia] - res.point[ib],
                    "ci_low": low,
                    "ci_high": high,
                    "p": p,
                    "resampling": PAIRED if res.cell.paired else UNPAIRED,
                    "rounds": np.isfinite(diff).sum(axis=0),
                },
                schema=PAIR_SCHEMA,
            )
        )
    table = pl.concat(frames) if frames else pl.DataFrame(schema=PAIR_SCHEMA)
    table = table.with_columns(pl.col(c).fill_nan(None) for c in ("difference", "ci_low", "ci_high", "p"))
    if table.is_empty():
        return table.with_columns(
            pl.lit(None, pl.Float64).alias("p_holm"), pl.lit(None, pl.Boolean).alias("significant")
        )
    adjusted = np.full(table.height, np.nan)
    for probe in table["probe"].unique().to_list():
        mask = (table["probe"] == probe).to_numpy()
        adjusted[mask] = holm(table.filter(pl.col("probe") == probe)["p"].fill_null(np.nan).to_numpy())
    return table.with_columns(
        pl.Series("p_holm", adjusted).fill_nan(None),
        pl.Series("significant", adjusted < alpha),
    ).with_columns(pl.when(pl.col("p_holm").is_null()).then(None).otherwise(pl.col("significant")).alias("significant"))


def _units(cell: Cell) -> int:
    """Units behind a paired difference: the cell's units (paired), else the smaller entry's."""
    return cell.n_units if cell.paired else min(cell.n_per_entry)


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


ESTIMATE_SCHEMA = {
    "probe": pl.Utf8, "cell": pl.Utf8, "entry": pl.Utf8, "estimate": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "n": pl.Int64, "n_obs": pl.Int64, "unit": pl.Utf8, "resampling": pl.Utf8, "rounds": pl.Int64,
    "higher_is_better": pl.Boolean,
}  # fmt: skip
PAIR_SCHEMA = {
    "probe": pl.Utf8, "cell": pl.Utf8, "entry_a": pl.Utf8, "entry_b": pl.Utf8, "difference": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "p": pl.Float64, "resampling": pl.Utf8, "rounds": pl.Int64,
}  # fmt: skip
