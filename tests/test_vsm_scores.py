"""VSM 2013 index formulas, scaling, deviation ratio and bootstrap on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from culturalign.probes.vsm.metrics import (
    CONDITIONS,
    Cube,
    bootstrap,
    condition_scores,
    evaluate,
    evaluate_cube,
    rank_descending,
)  # fmt: skip
from culturalign.probes.vsm.scores import Scaling, raw_indices, sensitivity_scalings

# The manual's formulas, written out here independently of the package data:
# dimension -> [(weight, item added, item subtracted), ...]
MANUAL = {
    "pdi": [(35, 7, 2), (25, 20, 23)],
    "idv": [(35, 4, 1), (35, 9, 6)],
    "mas": [(35, 5, 3), (35, 8, 10)],
    "uai": [(40, 18, 15), (25, 21, 24)],
    "lto": [(40, 13, 14), (25, 19, 22)],
    "ivr": [(35, 12, 11), (40, 17, 16)],
}
ORDER = ["pdi", "idv", "mas", "uai", "lto", "ivr"]


def _means(**items: float) -> np.ndarray:
    """Item means 1..24, all 3 (neutral) except the ones given as m07=4.0 etc."""
    values = np.full(24, 3.0)
    for name, value in items.items():
        values[int(name[1:]) - 1] = value
    return values


@pytest.mark.parametrize("dim", ORDER)
def test_each_term_has_the_manuals_weight_and_items(dim):
    for weight, plus, minus in MANUAL[dim]:
        raw = raw_indices(_means(**{f"m{plus:02d}": 4.0, f"m{minus:02d}": 3.0}))
        expected = np.zeros(6)
        expected[ORDER.index(dim)] = weight
        # the other dimensions do not use these two items
        np.testing.assert_allclose(raw, expected, err_msg=f"{dim}: m{plus} - m{minus}")


def test_mas_second_term_weighs_35_not_25():
    raw = raw_indices(_means(m08=5.0, m10=1.0))
    assert raw[ORDER.index("mas")] == pytest.approx(35 * 4)  # 140, not 100


def test_neutral_answers_give_zero_and_c_shifts_it():
    raw = raw_indices(_means())
    np.testing.assert_allclose(raw, 0.0)
    np.testing.assert_allclose(Scaling((50.0,) * 6, "none").apply(raw), 50.0)
    np.testing.assert_allclose(Scaling((0.0,) * 6, "minmax").apply(raw), 50.0)


def test_clip_bounds_and_minmax_maps_the_possible_range():
    raw = raw_indices(_means(m07=4.0, m02=2.0))  # PDI = 35 * 2 = 70
    assert raw[0] == pytest.approx(70)
    assert Scaling((50.0,) * 6, "none").apply(raw)[0] == pytest.approx(120)
    assert Scaling((50.0,) * 6, "clip").apply(raw)[0] == pytest.approx(100)
    assert Scaling((0.0,) * 6, "minmax").apply(raw)[0] == pytest.approx((70 + 240) / 480 * 100)
    extreme = raw_indices(_means(m07=5.0, m02=1.0, m20=5.0, m23=1.0))  # the largest possible PDI
    assert Scaling((0.0,) * 6, "minmax").apply(extreme)[0] == pytest.approx(100)


def test_nan_item_only_spoils_the_dimensions_using_it():
    means = _means()
    means[6] = np.nan  # item 7 feeds PDI only
    raw = raw_indices(means)
    assert math.isnan(raw[0]) and not np.isnan(raw[1:]).any()


def test_sensitivity_schemes_are_c0_c50_and_minmax():
    schemes = sensitivity_scalings("clip")
    assert set(schemes) == {"C=0", "C=50", "minmax"}
    assert schemes["C=0"].constants == (0.0,) * 6 and schemes["C=50"].constants == (50.0,) * 6


def test_deviation_ratio_hand_example():
    gt = np.array([[60, 40, 50, 70, 30, 50]], dtype=float)
    gmean = np.full(6, 50.0)  # numerator = mean(10, 10, 0, 20, 20, 0) = 10
    trial1 = gt[0] + 10  # Difference_1 = 10
    trial2 = gt[0] + np.array([-20, 0, 0, 0, 0, 20])  # Difference_2 = 40 / 6
    scores = np.stack([trial1, trial2])[None, None, None]  # [M=1, C=1, K=1, R=2, D=6]
    ev = evaluate(scores, gt, gmean)
    assert ev.numerator[0] == pytest.approx(10)
    assert ev.mean_difference[0, 0, 0] == pytest.approx((10 + 40 / 6) / 2)
    assert ev.dr[0, 0, 0] == pytest.approx(10 / ((10 + 40 / 6) / 2))  # 1.2
    assert ev.dr[0, 0, 0] == pytest.approx(1.2)
    # per dimension, PDI: |60 - 50| / mean(|10|, |-20|) = 10 / 15
    assert ev.dr_dim[0, 0, 0, 0] == pytest.approx(10 / 15)
    # MAS sits on the global mean: a zero numerator over a nonzero gap
    assert ev.dr_dim[0, 0, 0, 2] == pytest.approx(0.0)


def test_perfect_answers_give_an_undefined_ratio_not_a_crash():
    gt = np.array([[60, 40, 50, 70, 30, 50]], dtype=float)
    ev = evaluate(np.broadcast_to(gt[0], (1, 1, 1, 3, 6)).copy(), gt, np.full(6, 50.0))
    assert math.isnan(ev.dr[0, 0, 0]) and ev.dr_undefined[0, 0, 0] == 1


def _cube(values: np.ndarray, languages=("en", "zh", "de"), own=("de",)) -> Cube:
    m, c = values.shape[:2]
    return Cube(
        values, [f"m{i}" for i in range(m)], [f"c{i}" for i in range(c)], list(languages), list(own), ["US"] * m
    )


def test_conditions_pick_the_right_language_and_average():
    scores = np.zeros((1, 1, 3, 1, 6))
    scores[0, 0, 0] = 10  # en
    scores[0, 0, 1] = 20  # zh
    scores[0, 0, 2] = 60  # de, the country's own language
    out = condition_scores(scores, _cube(np.zeros((1, 1, 3, 24, 1))))
    at = {name: i for i, name in enumerate(CONDITIONS)}
    assert out[0, 0, at["aligned"], 0, 0] == 60
    assert out[0, 0, at["english"], 0, 0] == 10
    assert out[0, 0, at["chinese"], 0, 0] == 20
    assert out[0, 0, at["average"], 0, 0] == pytest.approx(30)
    assert out[0, 0, at["other"], 0, 0] == 60


def test_bootstrap_interval_covers_the_estimate_and_is_zero_without_variation():
    rng = np.random.default_rng(0)
    varied = rng.integers(1, 6, size=(1, 2, 3, 24, 5)).astype(float)
    gt = np.array([[40, 91, 62, 46, 26, 68], [80, 20, 66, 30, 87, 24]], dtype=float)
    gmean = gt.mean(axis=0)
    scaling = Scaling((50.0,) * 6, "clip")
    point = evaluate_cube(_cube(varied, own=("en", "zh")), scaling, gt, gmean)
    iv = bootstrap(_cube(varied, own=("en", "zh")), scaling, gt, gmean, rounds=200, seed=1)
    low, high = iv.low["dr"][0, 0, 0], iv.high["dr"][0, 0, 0]
    assert low < high
    assert low <= point.dr[0, 0, 0] <= high
    same = np.repeat(varied[..., :1], 5, axis=-1)
    iv_same = bootstrap(_cube(same, own=("en", "zh")), scaling, gt, gmean, rounds=50, seed=1)
    np.testing.assert_allclose(iv_same.low["dr"], iv_same.high["dr"])


def test_rank_descending_puts_missing_last_without_a_rank():
    assert rank_descending(np.array([0.5, np.nan, 2.0, 1.0])).tolist() == [3, 0, 1, 2]


def test_neutral_respondent_reference():
    from culturalign.probes.vsm.metrics import neutral_dr

    gt = np.array([[60, 40, 50, 70, 30, 50], [50, 50, 50, 50, 50, 60]], dtype=float)
    dr = neutral_dr(Scaling((50.0,) * 6, "clip"), gt, np.full(6, 50.0))
    # with C = 50 the neutral respondent sits on the global mean: numerator == denominator
    assert dr.tolist() == pytest.approx([1.0, 1.0])
    shifted = neutral_dr(Scaling((40.0,) * 6, "clip"), gt, np.full(6, 50.0))
    assert shifted[1] == pytest.approx((10 / 6) / ((10 * 5 + 20) / 6))
