"""Two rules of the vsm analysis on constructed answers with hand-computed numbers:
- a deviation ratio whose gap is exactly 0 (a clipped 0 or 100 equal to the published score) is
  undefined: empty, flagged, counted, left out of means, and drawn as a marked cell, never as 0;
- the average-over-languages condition can average the scaled scores (default) or the
  per-language ratios, and the two give the numbers worked out below."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from matplotlib.patches import Rectangle

from culturalign.probes.vsm import analysis as an
from culturalign.probes.vsm.figures import dimension_dr_figure, ranking_figure
from culturalign.probes.vsm.metrics import CONDITIONS, Cube, bootstrap, evaluate_cube
from culturalign.probes.vsm.scores import Scaling

C50 = Scaling((50.0,) * 6, "clip")
AVERAGE = CONDITIONS.index("average")
ALIGNED = CONDITIONS.index("aligned")


def _answers(**items: float) -> np.ndarray:
    """24 answers, all 3 (neutral: every index 0, so every score 50 with C = 50) except those given."""
    values = np.full(24, 3.0)
    for name, value in items.items():
        values[int(name[1:]) - 1] = value
    return values


def _cube(per_language: list[np.ndarray], languages: list[str], own: str) -> Cube:
    """One model, one country, one repeat per language."""
    values = np.stack(per_language)[None, None, :, :, None]  # [M, C, L, I, R]
    return Cube(values, ["m"], ["c"], languages, [own], ["US"])


# -- undefined ratios (issue: a clipped 100 equal to a published 100) ------------------------------
def _exact_match_case():
    # PDI = 35 (m07 - m02) = 35 * 4 = 140, + C 50, clipped to 100: equal to a published 100.
    cube = _cube([_answers(m07=5.0, m02=1.0)], ["de"], own="de")
    gt = np.array([[100.0, 50, 50, 50, 50, 50]])
    return cube, gt, np.full(6, 50.0)


def test_an_exact_match_is_undefined_flagged_and_counted() -> None:
    cube, gt, gmean = _exact_match_case()
    ev = evaluate_cube(cube, C50, gt, gmean)
    assert ev.score[0, 0, ALIGNED, 0] == 100.0
    assert ev.gap[0, 0, ALIGNED].tolist() == [0.0] * 6
    # Overall and PDI ratio: no finite value; reported as NaN with a flag, never inf or 0.
    assert math.isnan(ev.dr[0, 0, ALIGNED]) and ev.dr_undefined[0, 0, ALIGNED] == 1
    assert math.isnan(ev.dr_dim[0, 0, ALIGNED, 0]) and ev.dr_dim_undefined[0, 0, ALIGNED, 0] == 1
    assert not np.isinf(ev.dr).any() and not np.isinf(ev.dr_dim).any()
    ranking = an.ranking_table("country", ev, cube, None)
    row = ranking.filter(ranking["condition"] == "aligned").row(0, named=True)
    assert row["dr"] is None and row["n_undefined"] == 1
    dims = an.dimension_dr_table(ev, None)
    pdi = dims.filter((dims["condition"] == "aligned") & (dims["dimension"] == "pdi")).row(0, named=True)
    assert pdi["dr"] is None and pdi["n_undefined"] == 1 and pdi["n_cells"] == 0
    table = an.deviation_table(ev, cube, None)
    assert table.filter(table["condition"] == "aligned")["dr_undefined"].to_list() == [1]


def test_undefined_cells_are_left_out_of_means_and_counted() -> None:
    # Two models: one an exact match, one 20 points off on PDI only.
    exact, off = _answers(m07=5.0, m02=1.0), _answers(m07=3.0, m02=2.0)  # PDI 35 + 50 = 85
    values = np.stack([np.stack([exact])[None], np.stack([off])[None]])[..., None]  # [M=2, C=1, L=1, I, R=1]
    cube = Cube(values, ["a", "b"], ["c"], ["de"], ["de"], ["US", "US"])
    gt = np.array([[100.0, 50, 50, 50, 50, 50]])
    ev = evaluate_cube(cube, C50, gt, np.full(6, 50.0))
    # model b: numerator 50/6, mean difference 15/6 -> DR 10/3; model a undefined and left out.
    assert ev.dr[1, 0, ALIGNED] == pytest.approx(10 / 3)
    assert ev.country_dr[0, ALIGNED] == pytest.approx(10 / 3)
    assert ev.country_undefined[0, ALIGNED] == 1
    row = an.ranking_table("country", ev, cube, None).filter(pl.col("condition") == "aligned").row(0, named=True)
    assert row["dr"] == pytest.approx(10 / 3) and row["n_undefined"] == 1


def test_bootstrap_keeps_undefined_rounds_out_of_the_interval() -> None:
    cube, gt, gmean = _exact_match_case()
    iv = bootstrap(cube, C50, gt, gmean, rounds=20, seed=1)
    assert math.isnan(iv.low["dr"][0, 0, ALIGNED]) and math.isnan(iv.high["dr"][0, 0, ALIGNED])


def _hatched(fig) -> list[Rectangle]:
    return [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_figures_mark_an_undefined_ratio_instead_of_drawing_zero() -> None:
    cube, _, gmean = _exact_match_case()
    # Only PDI matches exactly; the other published scores differ from the model's 50.
    pdi_only = np.array([[100.0, 40, 60, 70, 30, 55]])
    ev = evaluate_cube(cube, C50, pdi_only, gmean)
    assert ev.dr_dim_undefined[0, 0, ALIGNED].tolist() == [1, 0, 0, 0, 0, 0]
    table = an.dimension_dr_table(ev, None)
    drawn = {"aligned", "average"} & set(table["condition"].to_list())  # the figure's conditions in this run
    fig = dimension_dr_figure(table)
    assert len(_hatched(fig)) == len(drawn)  # PDI under each drawn condition, nothing else
    assert any("undef" in text for text in _texts(fig))
    cube, gt, gmean = _exact_match_case()
    ev = evaluate_cube(cube, C50, gt, gmean)
    ranking = ranking_figure(an.ranking_table("country", ev, cube, None), "country", "aligned")
    assert len(_hatched(ranking)) == 1
    assert any("undefined" in text for text in _texts(ranking))
    # A defined ratio draws no such mark.
    defined = _cube([_answers(m07=3.0, m02=2.0)], ["de"], own="de")
    ev2 = evaluate_cube(defined, C50, pdi_only, gmean)
    assert not _hatched(dimension_dr_figure(an.dimension_dr_table(ev2, None)))


# -- averaging over languages --------------------------------------------------------------------
def _two_language_case():
    # In de the model's PDI is clipped to 100 (raw +70, + C 50), in fr to 0 (raw -70 + 50 = -20);
    # every other dimension 50. Published: [60, 40, 50, 70, 30, 50], global mean 50 -> numerator 10.
    cube = _cube([_answers(m07=4.0, m02=2.0), _answers(m07=2.0, m02=4.0)], ["de", "fr"], own="de")
    gt = np.array([[60.0, 40, 50, 70, 30, 50]])
    return cube, gt, np.full(6, 50.0)


def test_average_of_scores_hand_example() -> None:
    cube, gt, gmean = _two_language_case()
    ev = evaluate_cube(cube, C50, gt, gmean, "scores")
    # mean profile [50]*6: gaps [10, 10, 0, 20, 20, 0], mean 10 -> DR 10 / 10 = 1
    assert ev.score[0, 0, AVERAGE].tolist() == [50.0] * 6
    assert ev.mean_difference[0, 0, AVERAGE] == pytest.approx(10.0)
    assert ev.dr[0, 0, AVERAGE] == pytest.approx(1.0)


def test_average_of_ratios_hand_example() -> None:
    cube, gt, gmean = _two_language_case()
    ev = evaluate_cube(cube, C50, gt, gmean, "ratios")
    # de: gaps [40, 10, 0, 20, 20, 0] -> 15, DR 2/3; fr: gaps [60, 10, 0, 20, 20, 0] -> 110/6, DR 6/11
    assert ev.mean_difference[0, 0, AVERAGE] == pytest.approx((15 + 110 / 6) / 2)
    assert ev.dr[0, 0, AVERAGE] == pytest.approx((2 / 3 + 6 / 11) / 2)  # 20/33 = 0.606
    assert ev.dr_dim[0, 0, AVERAGE, 0] == pytest.approx((10 / 40 + 10 / 60) / 2)
    # The single-language conditions do not depend on the rule.
    scores_rule = evaluate_cube(cube, C50, gt, gmean, "scores")
    assert ev.dr[0, 0, ALIGNED] == pytest.approx(scores_rule.dr[0, 0, ALIGNED]) == pytest.approx(2 / 3)


def test_both_rules_side_by_side_and_an_unknown_rule_is_refused() -> None:
    cube, gt, gmean = _two_language_case()
    table = an.language_average_table(cube, gt, gmean, C50)
    row = table.filter(table["kind"] == "country").row(0, named=True)
    assert row["dr_average_scores"] == pytest.approx(1.0)
    assert row["dr_average_ratios"] == pytest.approx(20 / 33)
    with pytest.raises(ValueError):
        evaluate_cube(cube, C50, gt, gmean, "median")


def test_default_rule_is_averaging_scores() -> None:
    from culturalign.probes.vsm.settings import VsmSettings

    assert VsmSettings().language_average == "scores"
