"""RQ1, RQ2, attenuation and capability against statsmodels and hand-built data with known answers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.formula.api as smf

from culturalign.probes.wvs.analysis.baselines import UNIFORM
from culturalign.probes.wvs.analysis.capability import capability_from_benchmarks, load_aliases, load_capability
from culturalign.probes.wvs.analysis.consistency import attenuation_corrected, cross_language_consistency
from culturalign.probes.wvs.analysis.rq1 import classify, fit_rq1
from culturalign.probes.wvs.analysis.rq2 import fit_rq2, summarise_us_gap, us_gap_rounds

LANGS = ["da", "en"]
FAMILIES = {"g1": "gemma", "g2": "gemma", "g3": "gemma", "o1": "olmo", "o2": "olmo", "o3": "olmo"}
TRUE_CAP = {("gemma", "da"): 0.8, ("gemma", "en"): 0.3, ("olmo", "da"): -0.2, ("olmo", "en"): 0.0}
TRUE_CONS = {"da": 0.5, "en": 0.7}


def _rq1_rows(seed: int = 0, rounds: int = 60) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    intercepts = {m: rng.normal(0, 0.15) for m in FAMILIES}
    capability = {(m, lang): rng.uniform(0.2, 0.9) for m in FAMILIES for lang in LANGS}
    rows = []
    for model, family in FAMILIES.items():
        for lang in LANGS:
            for r in range(rounds):
                cons = rng.uniform(0.2, 0.8)
                multi = capability[(model, lang)]
                alignment = (
                    intercepts[model] + TRUE_CONS[lang] * cons + TRUE_CAP[(family, lang)] * multi + rng.normal(0, 0.03)
                )
                rows.append((model, family, lang, r, alignment, cons, multi))
    return pl.DataFrame(
        rows, schema=["model", "family", "language", "round", "alignment", "consistency", "multilingual"], orient="row"
    )


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_rq1_matches_statsmodels_formula_and_recovers_known_coefficients() -> None:
    rows = _rq1_rows()
    fit = fit_rq1(rows)
    reference = smf.mixedlm(
        "alignment ~ 0 + consistency:language + multilingual:family:language",
        rows.to_pandas(),
        groups=rows["model"].to_numpy(),
    ).fit(reml=True)
    for row in fit.table.iter_rows(named=True):
        assert row["coef"] == pytest.approx(reference.fe_params[row["term"]], abs=1e-4)
        assert row["se"] == pytest.approx(reference.bse_fe[row["term"]], rel=1e-3)
    by_term = {r["term"]: r for r in fit.table.iter_rows(named=True)}
    for (family, lang), truth in TRUE_CAP.items():
        term = by_term[f"multilingual:family[{family}]:language[{lang}]"]
        assert abs(term["coef"] - truth) < 4 * term["se"] + 0.02
        assert term["ci_low"] < term["coef"] < term["ci_high"]
    for lang, truth in TRUE_CONS.items():
        assert by_term[f"consistency:language[{lang}]"]["coef"] == pytest.approx(truth, abs=0.05)
    assert 0 < fit.r2_marginal < fit.r2_conditional <= 1
    assert fit.n_obs == rows.height and fit.n_groups == 6


def test_rq1_variants_have_the_expected_terms() -> None:
    rows = _rq1_rows(1, rounds=20)
    none = fit_rq1(rows, "no_consistency").table["term"].to_list()
    one = fit_rq1(rows, "one_consistency").table["term"].to_list()
    assert not any(t.startswith("consistency") for t in none)
    assert one.count("consistency") == 1 and len(one) == len(none) + 1


def _rq2_rows(seed: int = 0) -> tuple[pl.DataFrame, dict[tuple[str, str], float]]:
    """Cells with known means; US bias of m in l = (US - native)[m,l] - (US - native)[baseline,l]."""
    rng = np.random.default_rng(seed)
    models = [UNIFORM, "m1", "m2"]
    cell_mean = {(m, lang, us): rng.uniform(0, 0.7) for m in models for lang in LANGS for us in (False, True)}
    rows = []
    for (model, lang, us), mean in cell_mean.items():
        for r in range(40):
            rows.append((model, "f", lang, "US" if us else "X", r, mean + rng.normal(0, 0.05), us))
    df = pl.DataFrame(
        rows, schema=["model", "family", "language", "population", "round", "alignment", "us"], orient="row"
    )
    truth = {
        (m, lang): (cell_mean[(m, lang, True)] - cell_mean[(m, lang, False)])
        - (cell_mean[(UNIFORM, lang, True)] - cell_mean[(UNIFORM, lang, False)])
        for m in models[1:]
        for lang in LANGS
    }
    return df, truth


def test_rq2_us_bias_is_the_difference_in_differences_and_matches_statsmodels() -> None:
    rows, _ = _rq2_rows()
    fit = fit_rq2(rows)
    means = rows.group_by("model", "language", "us").agg(pl.col("alignment").mean())
    lookup = {(r["model"], r["language"], r["us"]): r["alignment"] for r in means.iter_rows(named=True)}
    reference = smf.ols(f"alignment ~ us * C(model, Treatment('{UNIFORM}')):language", rows.to_pandas()).fit()
    for row in fit.us_bias.iter_rows(named=True):
        m, lang = row["model"], row["language"]
        did = (lookup[(m, lang, True)] - lookup[(m, lang, False)]) - (
            lookup[(UNIFORM, lang, True)] - lookup[(UNIFORM, lang, False)]
        )
        assert row["coef"] == pytest.approx(did, abs=1e-10)
        name = [
            n
            for n in reference.params.index
            if n.startswith("us[T.True]:") and f"[T.{m}]" in n and f"language[{lang}]" in n
        ]
        assert len(name) == 1
        assert row["coef"] == pytest.approx(reference.params[name[0]], abs=1e-10)
        assert row["se"] == pytest.approx(reference.bse[name[0]], rel=1e-8)
        assert row["p"] == pytest.approx(reference.pvalues[name[0]], rel=1e-6, abs=1e-300)


def test_rq2_recovers_known_bias() -> None:
    rows, truth = _rq2_rows(3)
    fit = fit_rq2(rows)
    for row in fit.us_bias.iter_rows(named=True):
        assert abs(row["coef"] - truth[(row["model"], row["language"])]) < 4 * row["se"]


def test_us_gap_is_us_minus_mean_of_native_countries() -> None:
    rows = pl.DataFrame(
        {
            "model": ["m"] * 6,
            "family": ["f"] * 6,
            "language": ["pt"] * 6,
            "population_kind": ["country"] * 6,
            "population": ["US", "BR", "PT", "US", "BR", "PT"],
            "round": [0, 0, 0, 1, 1, 1],
            "value": [0.6, 0.4, 0.2, 0.5, 0.5, 0.1],
        }
    )
    gap = us_gap_rounds(rows, {"pt": ["BR", "PT"]}).sort("round")
    assert gap["gap"].to_list() == pytest.approx([0.3, 0.2])
    summary = summarise_us_gap(gap)
    assert summary["mean"][0] == pytest.approx(0.25)
    assert summary["share_us_ahead"][0] == 1.0


def test_attenuation_divides_by_one_minus_error() -> None:
    assert attenuation_corrected(0.5, 0.045) == pytest.approx(0.5 / 0.955)
    assert attenuation_corrected(0.5, 0.0) == 0.5
    with pytest.raises(ValueError):
        attenuation_corrected(0.5, 1.0)


def test_classify() -> None:
    assert classify(0.3, 0.01) == "pos"
    assert classify(-0.3, 0.01) == "neg"
    assert classify(0.3, 0.2) == "ns"
    assert classify(0.3, float("nan")) == "ns"


def test_cross_language_consistency_separates_within_and_between() -> None:
    # same item ordering within a language, reversed between languages
    rows = []
    for lang, sign in (("da", 1), ("en", -1)):
        for item, base in (("a", 0.1), ("b", 0.5), ("c", 0.9)):
            for k in range(3):
                value = base if sign > 0 else 1 - base
                rows.append(("m", "f", lang, lang, item, min(1.0, value + 0.01 * k)))
    df = pl.DataFrame(rows, schema=["model", "family", "language", "response_language", "item", "vps"], orient="row")
    cross = cross_language_consistency(df, 0.0)
    within = cross.filter(pl.col("comparison") == "within")["consistency"].to_list()
    between = cross.filter(pl.col("comparison") == "between")["consistency"].to_list()
    assert all(v > 0.8 for v in within)
    assert between and all(v < -0.8 for v in between)


def test_capability_aliases_and_means() -> None:
    table = pl.DataFrame(
        {
            "model": ["Gemma-2 9B", "Gemma-2 9B", "GPT-4 Turbo", "gpt-4-turbo", "X", "Gemma-2 9B"],
            "benchmark": ["a", "b", "a", "b", "a", "ENEM"],
            "language": ["Danish", "Danish", "English", "English", "English", "Danish"],
            "score": [50.0, 70.0, 80.0, None, 40.0, 10.0],
        }
    )
    cap = capability_from_benchmarks(table, ["gemma-2-9b-it"], load_aliases())
    lookup = {(r["model"], r["language"]): r["score"] for r in cap.iter_rows(named=True)}
    assert lookup[("gemma-2-9b-it", "da")] == pytest.approx(0.6)  # ENEM row dropped
    assert lookup[("gpt-4-turbo-2024-04-09", "en")] == pytest.approx(0.8)  # missing value dropped
    assert lookup[("X", "en")] == pytest.approx(0.4)


def test_released_benchmarks_map_to_all_nine_models(paper_data) -> None:
    responses = pl.read_csv(paper_data / "all_lang_model_responses_with_scores.csv")
    models = responses["model_name"].unique().to_list()
    cap = load_capability(paper_data / "multilingual_benchmarks.csv", models)
    covered = cap.filter(pl.col("model").is_in(models))
    assert covered.height == 36  # 9 models x 4 languages
    assert covered["score"].is_between(0, 1).all()
