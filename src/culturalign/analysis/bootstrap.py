"""The bootstrap, for every probe: resampling, percentile intervals, and a vectorised
bootstrap of Spearman correlations over many groups at once.

Intervals are percentile intervals with numpy's default (linear) interpolation, NaN draws
ignored: `nan_quantile` computes exactly what `np.nanquantile` does (same order statistics,
same interpolation formula, so the same bits) but sorts once for all cells instead of
looping over them, which matters for thousands of rounds over a full design.

A bootstrap round resamples *draw units* (response rows, or rows of a joined table) with
replacement. A resampled row that appears k times is the same as the original row with
frequency weight k, so every statistic here is computed from per-round weights instead of
materialised resamples. Spearman with ties is the Pearson correlation of average ranks
(as scipy.stats.spearmanr); with weights, the average rank of a tie class of total weight w
whose smaller values weigh `below` is `below + (w + 1) / 2`, which is exactly the rank the
expanded sample would give it.

Rows are compressed into *cells* (group, x class, y class): the ranks only depend on the
class weights, so after one sparse product (units -> cells) every round costs a few passes
over the cells, for all groups together, with no Python loop over groups or rounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

ROUND_CHUNK = 25  # rounds processed together: bounds memory (chunk x cells floats) and stays cache-friendly


def draw_counts(rng: np.random.Generator, n_units: int, rounds: int) -> Iterator[np.ndarray]:
    """Yield, per chunk of rounds, how often each unit was drawn (chunk x n_units, float).

    One `rng.integers(0, n, n)` per round, in round order, so the draws do not depend on the
    chunk size and a plain loop using the same generator sees the same resamples."""
    done = 0
    while done < rounds:
        size = min(ROUND_CHUNK, rounds - done)
        counts = np.empty((size, n_units), dtype=np.float64)
        for i in range(size):
            counts[i] = np.bincount(rng.integers(0, n_units, size=n_units), minlength=n_units)
        done += size
        yield counts


def resample_indices(rng: np.random.Generator, n_units: int) -> np.ndarray:
    """The draw of one round, as `draw_counts` makes it (for plain reference loops)."""
    return rng.integers(0, n_units, size=n_units)


def resample_rounds(rng: np.random.Generator, n_units: int, rounds: int) -> np.ndarray:
    """Every round's draw at once (rounds x n_units): one `rng.integers` call, so the stream
    differs from `rounds` calls of `resample_indices`; use one or the other for a statistic."""
    return rng.integers(0, n_units, size=(rounds, n_units))


# -- percentile intervals ------------------------------------------------------------------------
def nan_quantile(draws: np.ndarray, q: float, axis: int = 0) -> np.ndarray | float:
    """`np.nanquantile(draws, q, axis)` (linear interpolation), computed with one sort.

    A cell without any finite-or-infinite draw is NaN; two equal infinite neighbours give that
    infinity (numpy's interpolation would give NaN there)."""
    values = np.moveaxis(np.asarray(draws, dtype=np.float64), axis, 0)
    ordered = np.sort(values, axis=0)  # NaN sort last
    n = np.sum(~np.isnan(values), axis=0)
    top = np.maximum(n - 1, 0)
    position = top * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, top)
    lo = np.take_along_axis(ordered, below[None], axis=0)[0]
    hi = np.take_along_axis(ordered, above[None], axis=0)[0]
    gamma = position - below
    with np.errstate(invalid="ignore"):  # inf - inf where both neighbours are infinite: handled below
        diff = hi - lo
        # numpy's two-sided form: exact at both ends of the interval.
        out = np.where(gamma >= 0.5, hi - diff * (1 - gamma), lo + diff * gamma)
    out = np.where(np.isinf(lo) & (lo == hi), lo, out)
    out = np.where(n == 0, np.nan, out)
    return float(out) if out.ndim == 0 else out


def percentile_interval(draws: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[Any, Any]:
    """The `level` percentile interval of bootstrap draws along `axis` (NaN draws ignored)."""
    tail = (1.0 - level) / 2.0 * 100.0
    # As np.percentile does: the percentage divided by 100, then the quantile.
    return nan_quantile(draws, tail / 100, axis), nan_quantile(draws, (100.0 - tail) / 100, axis)


def _dense_codes(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 for the distinct key tuples, ordered lexicographically; and the first row of each."""
    order = np.lexsort(keys[::-1])
    sorted_keys = [k[order] for k in keys]
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        change = np.zeros(len(order) - 1, dtype=bool)
        for k in sorted_keys:
            change |= k[1:] != k[:-1]
        new[1:] = change
    codes_sorted = np.cumsum(new) - 1
    codes = np.empty(len(order), dtype=np.int64)
    codes[order] = codes_sorted
    return codes, order[new]


def _starts(sorted_labels: np.ndarray) -> np.ndarray:
    """Start index of each run of equal labels in a sorted array."""
    if len(sorted_labels) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])


def _segments(labels: np.ndarray, n_segments: int, order: np.ndarray | None = None) -> sp.csr_matrix:
    """Sparse (segments x rows) indicator: `S @ X` sums the rows of X per label.

    A sparse product is several times faster than np.add.reduceat along axis 0 here."""
    columns = np.arange(len(labels)) if order is None else order
    data = np.ones(len(labels), dtype=np.float64)
    return sp.csr_matrix((data, (labels, columns)), shape=(n_segments, len(labels)))


def _class_ranks(weights: np.ndarray, group_of_class: np.ndarray, group_starts: np.ndarray) -> np.ndarray:
    """Average ranks of classes (sorted by value within each group) from their weights (classes x rounds)."""
    inclusive = np.cumsum(weights, axis=0)
    exclusive = inclusive - weights
    offset = exclusive[group_starts][group_of_class]
    return exclusive - offset + (weights + 1.0) / 2.0


def _unit_matrix(units: np.ndarray, cells: np.ndarray, n_units: int, n_cells: int) -> sp.csr_matrix:
    data = np.ones(len(units), dtype=np.float64)
    return sp.csr_matrix((data, (units, cells)), shape=(n_units, n_cells))


def _to_cells(matrix: sp.csr_matrix, counts: np.ndarray) -> np.ndarray:
    """Per-round cell weights, cells x rounds (rows contiguous: the reductions run along axis 0)."""
    return np.ascontiguousarray(matrix.T @ counts.T)


def _pearson(
    s: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / s
        vx = sxx - sx * sx / s
        vy = syy - sy * sy / s
        r = cov / np.sqrt(vx * vy)
    # a constant side (one tie class) has no correlation, as in scipy (nan)
    degenerate = (vx <= 1e-12 * np.maximum(sxx, 1.0)) | (vy <= 1e-12 * np.maximum(syy, 1.0))
    r[degenerate] = np.nan
    return np.clip(r, -1.0, 1.0)


@dataclass(frozen=True)
class SpearmanDesign:
    """Groups of (x, y) rows, each row tied to the draw unit it is resampled with.

    Cells are (group, x class, y class) in that sort order; class codes are global and nest
    within groups, so per-group sums over classes are sums over contiguous segments."""

    n_units: int
    n_groups: int
    units_to_cells: sp.csr_matrix
    cells_to_x: sp.csr_matrix
    cells_to_y: sp.csr_matrix
    cells_to_group: sp.csr_matrix
    x_to_group: sp.csr_matrix
    y_to_group: sp.csr_matrix
    cell_xclass: np.ndarray
    cell_yclass: np.ndarray
    xclass_group: np.ndarray
    xclass_group_starts: np.ndarray
    yclass_group: np.ndarray
    yclass_group_starts: np.ndarray

    @classmethod
    def build(cls, unit: np.ndarray, group: np.ndarray, x: np.ndarray, y: np.ndarray, n_units: int) -> SpearmanDesign:
        """`group` must be 0..G-1 with every code present."""
        group = np.asarray(group, dtype=np.int64)
        xclass, xfirst = _dense_codes(group, np.asarray(x, dtype=np.float64))
        yclass, yfirst = _dense_codes(group, np.asarray(y, dtype=np.float64))
        cell, cfirst = _dense_codes(group, xclass, yclass)
        n_groups = int(group.max()) + 1 if len(group) else 0
        cell_xclass, cell_yclass = xclass[cfirst], yclass[cfirst]
        xclass_group, yclass_group = group[xfirst], group[yfirst]
        return cls(
            n_units=n_units,
            n_groups=n_groups,
            units_to_cells=_unit_matrix(np.asarray(unit, dtype=np.int64), cell, n_units, len(cfirst)),
            cells_to_x=_segments(cell_xclass, len(xfirst)),
            cells_to_y=_segments(cell_yclass, len(yfirst)),
            cells_to_group=_segments(group[cfirst], n_groups),
            x_to_group=_segments(xclass_group, n_groups),
            y_to_group=_segments(yclass_group, n_groups),
            cell_xclass=cell_xclass,
            cell_yclass=cell_yclass,
            xclass_group=xclass_group,
            xclass_group_starts=_starts(xclass_group),
            yclass_group=yclass_group,
            yclass_group_starts=_starts(yclass_group),
        )

    def spearman(self, counts: np.ndarray) -> np.ndarray:
        """Spearman per group for each round of unit counts: (rounds x units) -> (rounds x groups)."""
        cells = _to_cells(self.units_to_cells, counts)
        wx = self.cells_to_x @ cells
        wy = self.cells_to_y @ cells
        rx = _class_ranks(wx, self.xclass_group, self.xclass_group_starts)
        ry = _class_ranks(wy, self.yclass_group, self.yclass_group_starts)
        wrx = wx * rx
        wry = wy * ry
        cross = cells * rx[self.cell_xclass]
        cross *= ry[self.cell_yclass]
        return _pearson(
            self.x_to_group @ wx,
            self.x_to_group @ wrx,
            self.y_to_group @ wry,
            self.x_to_group @ (wrx * rx),
            self.y_to_group @ (wry * ry),
            self.cells_to_group @ cross,
        ).T

    def point(self) -> np.ndarray:
        """Spearman per group on the data as it is (every unit once)."""
        return self.spearman(np.ones((1, self.n_units)))[0]


@dataclass(frozen=True)
class PairDesign:
    """Self-consistency: Spearman over ordered pairs of different rows with the same group and item.

    `exclude_same_unit` decides what a "different row" is when a unit is drawn k times: False
    pairs the k copies with each other (pairs of resampled positions, as the released analysis
    did); True only pairs rows of different units (pairs of distinct responses).

    With c the weight of a cell (group, item, value class) and S the item total, the pairs whose
    first row lies in the cell weigh c*S - d, where d is the weight of pairing rows with
    themselves (c, or the sum of squared unit counts); the cross sum over pairs of the two ranks
    is, per item, (sum c*r)^2 - sum d*r^2. Both sides of a pair have the same distribution."""

    n_units: int
    n_groups: int
    units_to_cells: sp.csr_matrix
    cells_to_item: sp.csr_matrix
    cells_to_value: sp.csr_matrix
    value_to_group: sp.csr_matrix
    item_to_group: sp.csr_matrix
    cell_item: np.ndarray
    cell_vclass: np.ndarray
    vclass_group: np.ndarray
    vclass_group_starts: np.ndarray
    exclude_same_unit: bool
    vclass_value: np.ndarray
    method: str

    @classmethod
    def build(
        cls,
        unit: np.ndarray,
        group: np.ndarray,
        item: np.ndarray,
        value: np.ndarray,
        n_units: int,
        *,
        exclude_same_unit: bool,
        method: str = "spearman",
    ) -> PairDesign:
        """`method` "pearson" correlates the values themselves instead of their ranks."""
        if method not in ("spearman", "pearson"):
            raise ValueError(f"unknown correlation {method!r}")
        group = np.asarray(group, dtype=np.int64)
        value = np.asarray(value, dtype=np.float64)
        vclass, vfirst = _dense_codes(group, value)
        item_code, ifirst = _dense_codes(group, np.asarray(item, dtype=np.int64))
        cell, cfirst = _dense_codes(group, item_code, vclass)
        n_groups = int(group.max()) + 1 if len(group) else 0
        cell_item, cell_vclass = item_code[cfirst], vclass[cfirst]
        vclass_group = group[vfirst]
        return cls(
            n_units=n_units,
            n_groups=n_groups,
            units_to_cells=_unit_matrix(np.asarray(unit, dtype=np.int64), cell, n_units, len(cfirst)),
            cells_to_item=_segments(cell_item, len(ifirst)),
            cells_to_value=_segments(cell_vclass, len(vfirst)),
            value_to_group=_segments(vclass_group, n_groups),
            item_to_group=_segments(group[ifirst], n_groups),
            cell_item=cell_item,
            cell_vclass=cell_vclass,
            vclass_group=vclass_group,
            vclass_group_starts=_starts(vclass_group),
            exclude_same_unit=exclude_same_unit,
            vclass_value=value[vfirst],
            method=method,
        )

    def spearman(self, counts: np.ndarray) -> np.ndarray:
        """Pairwise Spearman per group for each round: (rounds x units) -> (rounds x groups)."""
        c = _to_cells(self.units_to_cells, counts)
        d = _to_cells(self.units_to_cells, counts * counts) if self.exclude_same_unit else c
        item_total = self.cells_to_item @ c
        first_weight = c * item_total[self.cell_item] - d
        m = self.cells_to_value @ first_weight
        if self.method == "spearman":
            r = _class_ranks(m, self.vclass_group, self.vclass_group_starts)
        else:
            r = np.broadcast_to(self.vclass_value[:, None], m.shape)
        p = self.value_to_group @ m
        mr = m * r
        sx = self.value_to_group @ mr
        sxx = self.value_to_group @ (mr * r)
        rc = r[self.cell_vclass]
        item_rank_sum = self.cells_to_item @ (c * rc)
        self_part = self.cells_to_item @ (d * rc * rc)
        sxy = self.item_to_group @ (item_rank_sum**2 - self_part)
        out = _pearson(p, sx, sx, sxx, sxx, sxy)
        out[p <= 1] = np.nan
        return out.T

    def point(self) -> np.ndarray:
        return self.spearman(np.ones((1, self.n_units)))[0]
