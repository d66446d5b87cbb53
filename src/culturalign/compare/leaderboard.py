"""Leaderboard, adjacent pairs and the two-run diff, all read off the paired tests.

"Not distinguishable from the best" comes from the paired test of each entry against the
cell's best, never from overlapping intervals: Holm's correction over the k - 1 comparisons
with the best of that cell (a family per leaderboard column), p_holm >= alpha or no test
possible. Adjacent steps are a family of their own per cell in the same way.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from culturalign.analysis.inference import holm, wald_p
from culturalign.compare.paired import ALPHA, PAIRED, UNPAIRED, CellDraws, percentiles

BEST = "best"
TIED = "not distinguishable from the best"
BEHIND = "behind the best"


def _pair_lookup(pairs: pl.DataFrame) -> dict[tuple[str, str, str, str], dict]:
    out = {}
    for r in pairs.iter_rows(named=True):
        out[(r["probe"], r["cell"], r["entry_a"], r["entry_b"])] = r
        out[(r["probe"], r["cell"], r["entry_b"], r["entry_a"])] = {
            **r,
            "difference": _neg(r["difference"]),
            "ci_low": _neg(r["ci_high"]),
            "ci_high": _neg(r["ci_low"]),
        }
    return out


def _neg(x: float | None) -> float | None:
    return None if x is None else -x


def leaderboard(estimates: pl.DataFrame, pairs: pl.DataFrame, alpha: float = ALPHA) -> pl.DataFrame:
    """Per probe and cell: entries best first, rank, interval, n and the marker from the paired tests."""
    lookup = _pair_lookup(pairs)
    rows = []
    for (probe, cell), part in sorted(estimates.group_by("probe", "cell"), key=lambda kv: kv[0]):
        higher = bool(part["higher_is_better"][0])
        ordered = part.sort("estimate", descending=higher, nulls_last=True)
        best = ordered.row(0, named=True)
        versus = [lookup.get((probe, cell, e, best["entry"])) for e in ordered["entry"].to_list()]
        family = holm([np.nan if v is None or v["p"] is None else v["p"] for v in versus[1:]])
        adjusted = [None, *(None if np.isnan(x) else float(x) for x in family)]
        for rank, (r, pair, p_holm) in enumerate(zip(ordered.iter_rows(named=True), versus, adjusted, strict=True), 1):
            if r["entry"] == best["entry"]:
                marker = BEST
            elif r["estimate"] is None:
                marker = "not estimable"
            else:
                marker = TIED if p_holm is None or p_holm >= alpha else BEHIND
            rows.append({
                "probe": probe, "cell": cell, "rank": rank, "entry": r["entry"], "estimate": r["estimate"],
                "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"], "unit": r["unit"], "n_obs": r["n_obs"],
                "difference_to_best": pair["difference"] if pair else None,
                "p_holm_vs_best": p_holm, "marker": marker, "resampling": r["resampling"],
                "direction": "higher is better" if higher else "lower is better",
            })  # fmt: skip
    return pl.DataFrame(rows, schema=LEADERBOARD_SCHEMA, orient="row")


def adjacent_pairs(board: pl.DataFrame, pairs: pl.DataFrame, alpha: float = ALPHA) -> pl.DataFrame:
    """Each entry against the next one down: is the step between them beyond noise?"""
    lookup = _pair_lookup(pairs)
    rows = []
    for (probe, cell), part in sorted(board.group_by("probe", "cell"), key=lambda kv: kv[0]):
        ordered = part.sort("rank")
        names = ordered["entry"].to_list()
        steps = [lookup.get((probe, cell, upper, lower), {}) for upper, lower in zip(names, names[1:], strict=False)]
        family = holm([np.nan if s.get("p") is None else s["p"] for s in steps]) if steps else np.array([])
        for upper, lower, pair, adjusted in zip(names, names[1:], steps, family, strict=False):
            p_holm = None if np.isnan(adjusted) else float(adjusted)
            rows.append({
                "probe": probe, "cell": cell, "upper": upper, "lower": lower, "difference": pair.get("difference"),
                "ci_low": pair.get("ci_low"), "ci_high": pair.get("ci_high"), "p_holm": p_holm,
                "distinguishable": None if p_holm is None else bool(p_holm < alpha),
            })  # fmt: skip
    return pl.DataFrame(rows, schema=ADJACENT_SCHEMA, orient="row")


def run_diff(results: list[CellDraws], before: str, after: str, models: list[str], level: float = 0.95) -> pl.DataFrame:
    """Two runs of the same experiment: per model and cell, after minus before, paired over the
    units both runs share, with a Holm correction over this table's tests."""
    rows = []
    for res in results:
        at = {e: i for i, e in enumerate(res.cell.entries)}
        for model in models:
            a, b = at.get(f"{model} @ {before}"), at.get(f"{model} @ {after}")
            if a is None or b is None:
                continue
            change = res.rounds[:, b] - res.rounds[:, a]
            finite = change[np.isfinite(change)]
            low, high = percentiles(finite[:, None], level) if finite.size else (np.array([np.nan]),) * 2
            p = (
                float(wald_p(np.array(res.point[b] - res.point[a]), finite, n_units=res.cell.n_units))
                if finite.size > 1
                else np.nan
            )
            rows.append({
                "probe": res.cell.probe, "cell": res.cell.cell, "model": model, "before": _num(res.point[a]),
                "after": _num(res.point[b]), "change": _num(res.point[b] - res.point[a]), "ci_low": _num(low[0]),
                "ci_high": _num(high[0]), "p": _num(p), "resampling": PAIRED if res.cell.paired else UNPAIRED,
            })  # fmt: skip
    table = pl.DataFrame(rows, schema=DIFF_SCHEMA, orient="row")
    adjusted = holm(table["p"].fill_null(np.nan).to_numpy()) if table.height else np.array([])
    return table.with_columns(
        pl.Series("p_holm", adjusted, dtype=pl.Float64).fill_nan(None),
    ).with_columns(
        pl.when(pl.col("p_holm").is_null())
        .then(pl.lit("no test (no spread between rounds)"))
        .when(pl.col("p_holm") < ALPHA)
        .then(pl.lit("beyond noise"))
        .otherwise(pl.lit("within noise"))
        .alias("verdict")
    )


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


LEADERBOARD_SCHEMA = {
    "probe": pl.Utf8, "cell": pl.Utf8, "rank": pl.Int64, "entry": pl.Utf8, "estimate": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "unit": pl.Utf8, "n_obs": pl.Int64,
    "difference_to_best": pl.Float64,
    "p_holm_vs_best": pl.Float64, "marker": pl.Utf8, "resampling": pl.Utf8, "direction": pl.Utf8,
}  # fmt: skip
ADJACENT_SCHEMA = {
    "probe": pl.Utf8, "cell": pl.Utf8, "upper": pl.Utf8, "lower": pl.Utf8, "difference": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "p_holm": pl.Float64, "distinguishable": pl.Boolean,
}  # fmt: skip
DIFF_SCHEMA = {
    "probe": pl.Utf8, "cell": pl.Utf8, "model": pl.Utf8, "before": pl.Float64, "after": pl.Float64,
    "change": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "p": pl.Float64, "resampling": pl.Utf8,
}  # fmt: skip
