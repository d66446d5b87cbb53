"""VPS, validation metrics and multi-judge aggregation against hand-computed values."""

from __future__ import annotations

import math

import polars as pl
import pytest

from culturalign.judge.aggregate import (
    combine_judges,
    fleiss_kappa_from_labels,
    inter_judge_kappa,
    majority_vote,
    median_label,
)
from culturalign.judge.vps import score_labels, vps_from_counts
from culturalign.probes.wvs.judge.quality import PAPER_ERROR_RATE, JudgeQuality, error_rate_for, judge_quality
from culturalign.probes.wvs.judge.validate import (
    agreement,
    cohen_kappa,
    confusion_matrix,
    response_vps_errors,
    validate_aligned,
)

REF = ["pro", "pro", "con", "con", "null", "null"]
PRED = ["pro", "con", "con", "con", "null", "pro"]


# -- VPS ---------------------------------------------------------------------------------------
def test_vps_of_the_method_example() -> None:
    score = score_labels(["pro"] * 7 + ["con"] + ["null"] * 2)
    assert (score.n_pro, score.n_con, score.n_null) == (7, 1, 2)
    assert score.vps == pytest.approx(0.875)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [(["null", "null"], None), ([], None), (["pro"], 1.0), (["con", "null"], 0.0), (["pro", "con"], 0.5)],
)
def test_vps_edge_cases(labels: list[str], expected: float | None) -> None:
    assert score_labels(labels).vps == expected


def test_vps_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        score_labels(["pro", "maybe"])
    with pytest.raises(ValueError):
        vps_from_counts(-1, 2)


# -- agreement, kappa, confusion ---------------------------------------------------------------------
def test_agreement_kappa_and_confusion_by_hand() -> None:
    # observed 4/6; chance (2*2 + 2*3 + 2*1) / 36 = 1/3; kappa (2/3 - 1/3) / (2/3) = 0.5
    assert agreement(REF, PRED) == pytest.approx(4 / 6)
    assert cohen_kappa(REF, PRED) == pytest.approx(0.5)
    assert confusion_matrix(REF, PRED) == {
        "pro": {"pro": 1, "con": 1, "null": 0},
        "con": {"pro": 0, "con": 2, "null": 0},
        "null": {"pro": 1, "con": 0, "null": 1},
    }


def test_missing_labels_count_as_disagreement() -> None:
    pred = ["pro", None, "con", "con", "null", "pro"]
    assert agreement(REF, pred) == pytest.approx(4 / 6)
    matrix = confusion_matrix(REF, pred)
    assert matrix["pro"]["missing"] == 1
    # categories pro, con, null, missing: ref 2,2,2,0; pred 2,2,1,1 -> chance (4+4+2)/36
    expected = (4 / 6 - 10 / 36) / (1 - 10 / 36)
    assert cohen_kappa(REF, pred) == pytest.approx(expected)


def test_kappa_undefined_when_chance_is_certain() -> None:
    assert cohen_kappa(["pro", "pro"], ["pro", "pro"]) is None
    with pytest.raises(ValueError):
        agreement(["pro"], ["pro", "con"])


def _aligned() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "response": ["a"] * 4 + ["b"] * 2 + ["c"] * 2,
            "language": ["en"] * 4 + ["da"] * 2 + ["da"] * 2,
            "reference": ["pro", "pro", "con", "null", "pro", "con", "null", "null"],
            "predicted": ["pro", "con", "con", "null", "pro", "pro", "null", "pro"],
        }
    )


def test_vps_error_per_response_by_hand() -> None:
    errors = response_vps_errors(_aligned())
    by = {r["response"]: r for r in errors.iter_rows(named=True)}
    assert by["a"]["vps_reference"] == pytest.approx(2 / 3) and by["a"]["vps_judge"] == pytest.approx(1 / 3)
    assert by["a"]["abs_error"] == pytest.approx(1 / 3)
    assert by["b"]["abs_error"] == pytest.approx(0.5)
    assert by["c"]["vps_reference"] is None and by["c"]["abs_error"] is None


def test_validation_report_with_bootstrap() -> None:
    report = validate_aligned(_aligned(), "test", rounds=300, seed=1)
    assert report.n_summaries == 8 and report.n_responses == 3 and report.n_responses_with_vps == 2
    assert report.agreement.estimate == pytest.approx(5 / 8)
    assert report.vps_mae.estimate == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert report.languages == {"da": 4, "en": 4}
    for interval in (report.agreement, report.vps_mae):
        assert interval.low is not None and interval.high is not None
        assert interval.low <= interval.estimate <= interval.high
    again = validate_aligned(_aligned(), "test", rounds=300, seed=1)
    assert again.agreement == report.agreement  # same seed, same interval
    data = report.as_dict()
    assert data["bootstrap"]["rounds"] == 300 and data["cohen_kappa"]["estimate"] == report.kappa.estimate


# -- several judges ------------------------------------------------------------------------------
def test_majority_vote_ties_and_missing() -> None:
    assert majority_vote(["pro", "pro", "con"]) == "pro"
    assert majority_vote(["pro", "con"]) is None
    assert majority_vote(["pro", None, None]) == "pro"
    assert majority_vote([None, None]) is None
    assert majority_vote([]) is None


def test_median_label() -> None:
    assert median_label([-2, 1, 2]) == 1.0
    assert median_label([-1, 2]) == 0.5
    with pytest.raises(ValueError):
        median_label([])


def test_fleiss_kappa_by_hand() -> None:
    # P_i = 1, 1/3, 1, 1/3 -> mean 2/3; p_a = p_b = 1/2 -> P_e = 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3
    ratings = [["a", "a", "a"], ["a", "a", "b"], ["b", "b", "b"], ["a", "b", "b"]]
    assert fleiss_kappa_from_labels(ratings) == pytest.approx(1 / 3)
    # a subject with a missing rating is dropped
    assert fleiss_kappa_from_labels([*ratings, ["a", None, "b"]]) == pytest.approx(1 / 3)
    assert fleiss_kappa_from_labels([["a", "a"], ["a", "a"]]) is None
    assert fleiss_kappa_from_labels([["a"]]) is None
    with pytest.raises(ValueError):
        fleiss_kappa_from_labels([["a", "b"], ["a", "b", "a"]])


def test_combine_judges_majority_and_median() -> None:
    per_judge = {"j1": ["pro", "con", "null"], "j2": ["pro", "pro", "con"], "j3": ["con", "pro"], "j4": None}
    combined = combine_judges(per_judge, "majority")
    # interviewee 1: pro 2 vs con 1 -> pro; 2: pro 2 vs con 1 -> pro; 3: null vs con tie -> null
    assert combined.labels == ("pro", "pro", "null") and combined.vps == 1.0 and combined.n_judges_ok == 3
    median = combine_judges(per_judge, "median")
    # VPS per judge: 0.5, 2/3, 0.5 -> median 0.5
    assert median.vps == pytest.approx(0.5) and median.labels is None
    assert combine_judges({"j": None}).labels is None
    with pytest.raises(ValueError):
        combine_judges(per_judge, "mean")


def test_inter_judge_kappa_uses_only_fully_labelled_responses() -> None:
    responses = [
        {"j1": ("pro", "con"), "j2": ("pro", "con")},
        {"j1": ("null", "pro"), "j2": ("con", "pro")},
        {"j1": ("pro",), "j2": None},
    ]
    value = inter_judge_kappa(responses)
    expected = fleiss_kappa_from_labels(
        [["pro", "pro"], ["con", "con"], ["null", "con"], ["pro", "pro"]], categories=("pro", "con", "null")
    )
    assert value == pytest.approx(expected)


# -- quality records -------------------------------------------------------------------------------
def test_unvalidated_judge_warns_and_uses_paper_error_rate() -> None:
    quality = judge_quality("some-unknown-judge")
    assert not quality.validated and not quality.interpretable
    assert "not been validated" in (quality.warning() or "")
    assert error_rate_for("some-unknown-judge") == PAPER_ERROR_RATE


def test_poor_kappa_warns_and_good_kappa_does_not() -> None:
    poor = JudgeQuality("x", True, agreement=0.45, kappa=0.19, vps_mae=0.3, n_summaries=474)
    assert not poor.interpretable and "45%" in (poor.warning() or "") and "91%" in (poor.warning() or "")
    good = JudgeQuality("y", True, agreement=0.9, kappa=0.8, vps_mae=0.05, n_summaries=474)
    assert good.interpretable and good.warning() is None
    assert not math.isnan(poor.summary()["cohen_kappa"])
