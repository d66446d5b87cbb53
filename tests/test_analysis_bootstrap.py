"""The vectorised bootstrap kernels against scipy on small tables, resample by resample."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from culturalign.analysis.bootstrap import (
    PairDesign,
    SpearmanDesign,
    draw_counts,
    nan_quantile,
    percentile_interval,
    resample_indices,
)
from culturalign.probes.wvs.analysis.alignment import Domain, PairSet, bootstrap_domain, join_truth


def _expand(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts.astype(int))


def _small_table(seed: int, n: int = 50, groups: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n)
    group[:groups] = np.arange(groups)  # every group present
    x = rng.integers(0, 5, n) / 4  # heavy ties, as VPS values have
    y = rng.integers(0, 7, n) / 6
    item = rng.integers(0, 4, n)
    return group, x, y, item


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_matches_scipy_on_every_resample(seed: int) -> None:
    group, x, y, _ = _small_table(seed)
    n = len(x)
    design = SpearmanDesign.build(np.arange(n), group, x, y, n)
    rng = np.random.default_rng(seed + 10)
    counts = next(draw_counts(rng, n, 6))
    got = design.spearman(counts)
    for b in range(counts.shape[0]):
        rows = _expand(counts[b])
        for g in range(3):
            picked = rows[group[rows] == g]
            expected = spearmanr(x[picked], y[picked]).statistic
            assert got[b, g] == pytest.approx(expected, abs=1e-12)


def test_point_estimate_is_plain_spearman_and_units_can_repeat_in_groups() -> None:
    group, x, y, _ = _small_table(5, n=40, groups=2)
    n = len(x)
    # each row copied into a second set of groups (as population copies are), same unit
    unit = np.r_[np.arange(n), np.arange(n)]
    design = SpearmanDesign.build(unit, np.r_[group, group + 2], np.r_[x, x], np.r_[y, 1 - y], n)
    point = design.point()
    for g in range(2):
        mask = group == g
        assert point[g] == pytest.approx(spearmanr(x[mask], y[mask]).statistic, abs=1e-12)
        assert point[g + 2] == pytest.approx(spearmanr(x[mask], 1 - y[mask]).statistic, abs=1e-12)


def test_constant_group_gives_nan_like_scipy() -> None:
    x = np.array([0.5, 0.5, 0.5, 0.1, 0.9, 0.3])
    y = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    design = SpearmanDesign.build(np.arange(6), np.array([0, 0, 0, 1, 1, 1]), x, y, 6)
    point = design.point()
    assert np.isnan(point[0])
    assert point[1] == pytest.approx(spearmanr(x[3:], y[3:]).statistic)


@pytest.mark.parametrize("exclude_same_unit", [False, True])
def test_pair_consistency_matches_explicit_pairs(exclude_same_unit: bool) -> None:
    group, x, _, item = _small_table(3, n=36)
    n = len(x)
    design = PairDesign.build(np.arange(n), group, item, x, n, exclude_same_unit=exclude_same_unit)
    counts = next(draw_counts(np.random.default_rng(4), n, 4))
    got = design.spearman(counts)
    for b in range(counts.shape[0]):
        rows = _expand(counts[b])
        for g in range(3):
            positions = [i for i in range(len(rows)) if group[rows[i]] == g]
            first, second = [], []
            for i in positions:
                for j in positions:
                    same_unit = rows[i] == rows[j]
                    if i == j or item[rows[i]] != item[rows[j]] or (exclude_same_unit and same_unit):
                        continue
                    first.append(x[rows[i]])
                    second.append(x[rows[j]])
            assert got[b, g] == pytest.approx(spearmanr(first, second).statistic, abs=1e-12)


def test_pair_consistency_pearson_variant_matches_numpy() -> None:
    group, x, _, item = _small_table(8, n=30, groups=1)
    design = PairDesign.build(np.arange(30), group, item, x, 30, exclude_same_unit=True, method="pearson")
    pairs = [(x[i], x[j]) for i in range(30) for j in range(30) if i != j and item[i] == item[j]]
    a, b = np.array(pairs).T
    assert design.point()[0] == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12)


def test_draws_do_not_depend_on_chunking() -> None:
    chunks = np.vstack(list(draw_counts(np.random.default_rng(7), 25, 120)))
    rng = np.random.default_rng(7)
    plain = np.stack([np.bincount(resample_indices(rng, 25), minlength=25) for _ in range(120)])
    assert chunks.shape == (120, 25)
    np.testing.assert_array_equal(chunks, plain)


def test_bootstrap_domain_same_draw_for_every_group_and_seeded() -> None:
    responses = pl.DataFrame(
        {
            "model": ["m1"] * 6 + ["m2"] * 6,
            "family": ["f"] * 12,
            "language": ["da"] * 12,
            "response_language": ["da"] * 12,
            "item": ["a", "b", "c", "a", "b", "c"] * 2,
            "vps": [0.1, 0.5, 0.9, 0.2, 0.4, 0.8, 0.9, 0.5, 0.1, 0.7, 0.6, 0.2],
        }
    ).with_row_index("unit")
    truth = pl.DataFrame(
        {"population_kind": ["language"] * 3, "population": ["da"] * 3, "item": ["a", "b", "c"], "vps": [0.2, 0.5, 0.7]}
    )
    joined = join_truth(responses, truth)
    domain = Domain("t", joined, responses.height, {"c": PairSet(responses, exclude_same_unit=True)})
    one = bootstrap_domain(domain, np.random.default_rng(11), 30)
    two = bootstrap_domain(domain, np.random.default_rng(11), 30)
    np.testing.assert_array_equal(one.alignment.rounds, two.alignment.rounds)
    # round by round, recompute both groups from one shared draw of the 12 response rows
    rng = np.random.default_rng(11)
    for b in range(30):
        rows = resample_indices(rng, 12)
        for g, model in enumerate(["m1", "m2"]):
            picked = [r for r in rows if responses["model"][int(r)] == model]
            xs = responses["vps"].to_numpy()[picked]
            ys = np.array([{"a": 0.2, "b": 0.5, "c": 0.7}[responses["item"][int(r)]] for r in picked])
            expected = spearmanr(xs, ys).statistic if len(set(xs)) > 1 and len(set(ys)) > 1 else np.nan
            np.testing.assert_allclose(one.alignment.rounds[b, g], expected, atol=1e-12, equal_nan=True)


def test_summarise_gives_mean_and_percentile_interval_ignoring_empty_rounds() -> None:
    from culturalign.probes.wvs.analysis.alignment import summarise

    keys = pl.DataFrame({"model": ["a", "b"]})
    rounds = np.array([[0.1, np.nan], [0.3, np.nan], [0.5, np.nan], [np.nan, np.nan]])
    out = summarise(keys, rounds)
    assert out["mean"][0] == pytest.approx(0.3)
    assert out["ci_low"][0] == pytest.approx(np.percentile([0.1, 0.3, 0.5], 2.5))
    assert out["ci_high"][0] == pytest.approx(np.percentile([0.1, 0.3, 0.5], 97.5))
    assert out["mean"][1] is None  # a group without any value has no estimate


def test_stability_shares_per_term() -> None:
    from culturalign.probes.wvs.analysis.stability import summarise_reruns

    per_run = pl.DataFrame(
        {
            "section": ["rq1_capability"] * 4,
            "term": ["t"] * 4,
            "model": [None] * 4,
            "family": ["gemma"] * 4,
            "language": ["da"] * 4,
            "paper_coef": [1.0] * 4,
            "paper_class": ["pos"] * 4,
            "coef": [1.0, 0.8, 0.1, 1.2],
            "class": ["pos", "pos", "ns", "pos"],
            "class_agrees": [True, True, False, True],
            "rerun": [0, 1, 2, 3],
        },
        schema_overrides={"model": pl.Utf8},
    )
    row = summarise_reruns(per_run).row(0, named=True)
    assert row["reruns"] == 4 and row["share_class_holds"] == 0.75
    assert row["share_pos"] == 0.75 and row["share_ns"] == 0.25 and row["share_neg"] == 0.0
    assert row["mean"] == pytest.approx(0.775) and row["sd"] == pytest.approx(np.std([1.0, 0.8, 0.1, 1.2], ddof=1))


def test_percentile_intervals_are_numpys_to_the_bit() -> None:
    """Every probe's intervals come from nan_quantile: it must give np.nanquantile's exact bits
    (the same order statistics and numpy's two-sided interpolation), NaN draws ignored."""
    import warnings

    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 7, 40, 999):
        draws = rng.normal(size=(n, 5, 4)) * 1e3
        draws[rng.random(draws.shape) < 0.2] = np.nan
        draws[:, 0, 0] = np.nan  # a cell with no draw at all
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for level in (0.9, 0.95, 0.99):
                tail = (1 - level) / 2 * 100
                low, high = percentile_interval(draws, level)
                np.testing.assert_array_equal(low, np.nanpercentile(draws, tail, axis=0))
                np.testing.assert_array_equal(high, np.nanpercentile(draws, 100 - tail, axis=0))
            for q in (0.025, 0.5, 0.975):
                np.testing.assert_array_equal(nan_quantile(draws, q, axis=1), np.nanquantile(draws, q, axis=1))
    plain = rng.normal(size=50)
    assert nan_quantile(plain, 0.975) == np.quantile(plain, 0.975)
    assert nan_quantile(np.array([np.inf, np.inf]), 0.5) == np.inf
