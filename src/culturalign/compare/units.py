"""Per-probe measures as functions of unit counts, so that one draw recomputes every model.

- wvs: alignment of an entry in a prompt language = Spearman of its responses' VPS against the
  ground truth of the language's speakers for each response's item. Unit: the item (with every
  response to it: responses to one item share its truth, so items are the resampled clusters;
  prompt draws nest within items).
- vsm: mean deviation ratio over countries, per prompt condition. Unit: the country persona.
- statements: mean absolute distance, over Hofstede dimensions, between the entry's profile on
  0-100 (mean score over statements, [-2, 2] mapped linearly) and the target country's scores.
  Unit: the statement. Lower is better.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import polars as pl

from culturalign.analysis.bootstrap import SpearmanDesign
from culturalign.compare.paired import Cell

SCORE_RANGE = (-2.0, 2.0)


def _layout(
    rows: pl.DataFrame, unit_col: str
) -> tuple[list[str], np.ndarray, np.ndarray, int, list[str], np.ndarray, pl.DataFrame]:
    """Entries, entry index per row, unit index per row, number of units and notes.

    Paired when some unit is shared by two entries: one draw over all the cell's units (the
    note says how many only one entry has); with no shared unit at all, each entry's own units
    are drawn on their own (unpaired)."""
    entries = sorted(rows["entry"].unique().to_list())
    per_entry = {e: set(rows.filter(pl.col("entry") == e)[unit_col].to_list()) for e in entries}
    every = set.union(*per_entry.values()) if per_entry else set()
    in_two = {u for u in every if sum(u in units for units in per_entry.values()) >= 2}
    notes = []
    entry_index = {e: i for i, e in enumerate(entries)}
    kept = rows
    if in_two:
        # One draw over every unit of the cell: each entry keeps all its own units, and units two
        # entries share enter both with the same count (that is what makes the comparison paired).
        lonely = {e: len(units - in_two) for e, units in per_entry.items() if units - in_two}
        if lonely:
            notes.append(
                f"{len(in_two)} {unit_col} values shared; values only one entry has: "
                + ", ".join(f"{e} {n}" for e, n in lonely.items())
            )
        order = sorted(every)
        at = {u: i for i, u in enumerate(order)}
        unit = np.array([at[u] for u in kept[unit_col].to_list()], dtype=np.int64)
        owner = np.full(len(order), -1)
    else:
        notes.append(f"no {unit_col} value is shared by two entries: unpaired comparison")
        pairs = sorted({(entry_index[e], u) for e, units in per_entry.items() for u in units})
        at = {p: i for i, p in enumerate(pairs)}
        unit = np.array(
            [at[(entry_index[e], u)] for e, u in zip(kept["entry"].to_list(), kept[unit_col].to_list(), strict=True)],
            dtype=np.int64,
        )
        owner = np.array([p[0] for p in pairs])
    group = np.array([entry_index[e] for e in kept["entry"].to_list()], dtype=np.int64)
    return entries, group, unit, len(owner), notes, owner, kept


def _units_per_entry(group: np.ndarray, unit: np.ndarray, n_entries: int) -> list[int]:
    return [len(np.unique(unit[group == e])) for e in range(n_entries)]


def wvs_cells(rows: pl.DataFrame) -> list[Cell]:
    """rows: entry, language, item, vps, truth (truth of the language's speakers for the item)."""
    cells = []
    for (language,), part in sorted(rows.group_by("language"), key=lambda kv: kv[0]):
        if part["entry"].n_unique() < 1:
            continue
        entries, group, unit, n_units, notes, owner, kept = _layout(part, "item")
        design = SpearmanDesign.build(unit, group, kept["vps"].to_numpy(), kept["truth"].to_numpy(), n_units)
        cells.append(
            Cell(
                probe="wvs",
                cell=str(language),
                entries=entries,
                statistic=design.spearman,
                n_units=n_units,
                owner=owner,
                n_per_entry=_units_per_entry(group, unit, len(entries)),
                n_obs=[int((group == e).sum()) for e in range(len(entries))],
                higher_is_better=True,
                unit_kind="item",
                notes=notes,
            )
        )
    return cells


def _unit_matrix(values: np.ndarray, group: np.ndarray, unit: np.ndarray, n_units: int, n_entries: int) -> np.ndarray:
    """units x entries matrix of one value per (unit, entry); NaN where the entry lacks the unit."""
    out = np.full((n_units, n_entries), np.nan)
    out[unit, group] = values
    return out


def weighted_means(counts: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Mean over units weighted by their counts, per entry, ignoring missing (rounds x entries)."""
    present = np.isfinite(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ np.where(present, matrix, 0.0)) / (counts @ present)


def vsm_cells(rows: pl.DataFrame) -> list[Cell]:
    """rows: entry, condition, country, dr (finite deviation ratios only)."""
    cells = []
    for (condition,), part in sorted(rows.group_by("condition"), key=lambda kv: kv[0]):
        entries, group, unit, n_units, notes, owner, kept = _layout(part, "country")
        matrix = _unit_matrix(kept["dr"].to_numpy().astype(float), group, unit, n_units, len(entries))
        cells.append(
            Cell(
                probe="vsm",
                cell=str(condition),
                entries=entries,
                statistic=partial(weighted_means, matrix=matrix),
                n_units=n_units,
                owner=owner,
                n_per_entry=_units_per_entry(group, unit, len(entries)),
                higher_is_better=True,
                unit_kind="country",
                notes=notes,
            )
        )
    return cells


def statements_cells(rows: pl.DataFrame, targets: pl.DataFrame) -> list[Cell]:
    """rows: entry, language, statement_id, dimension, score; targets: entry, language, dimension, value (0-100)."""
    cells = []
    for (language,), part in sorted(rows.group_by("language"), key=lambda kv: kv[0]):
        entries, group, unit, n_units, notes, owner, kept = _layout(part, "statement_id")
        dims = sorted(kept["dimension"].unique().to_list())
        target = np.full((len(dims), len(entries)), np.nan)
        mine = targets.filter(pl.col("language") == language)
        at_entry = {e: i for i, e in enumerate(entries)}
        for r in mine.iter_rows(named=True):
            if r["entry"] in at_entry and r["dimension"] in dims:
                target[dims.index(r["dimension"]), at_entry[r["entry"]]] = r["value"]
        missing = [e for i, e in enumerate(entries) if np.isnan(target[:, i]).all()]
        if missing:
            notes.append(f"no target country scores for {', '.join(missing)} in {language}")
        dim_of = kept["dimension"].to_numpy()
        matrices = []
        for d in dims:
            mask = dim_of == d
            matrices.append(
                _unit_matrix(
                    kept["score"].to_numpy().astype(float)[mask], group[mask], unit[mask], n_units, len(entries)
                )
            )

        def distance(counts: np.ndarray, matrices=matrices, target=target) -> np.ndarray:
            low, high = SCORE_RANGE
            gaps = np.stack(
                [
                    np.abs((weighted_means(counts, m) - low) / (high - low) * 100 - target[d])
                    for d, m in enumerate(matrices)
                ]
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmean(gaps, axis=0)

        cells.append(
            Cell(
                probe="statements",
                cell=str(language),
                entries=entries,
                statistic=distance,
                n_units=n_units,
                owner=owner,
                n_per_entry=_units_per_entry(group, unit, len(entries)),
                n_obs=[int((group == e).sum()) for e in range(len(entries))],
                higher_is_better=False,
                unit_kind="statement",
                notes=notes,
            )
        )
    return cells
