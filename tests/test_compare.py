"""`culturalign compare`: paired tests on synthetic models, joint resampling, leaderboard ties,
the two-run diff, the methods side by side, the paper's released responses and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from cli_helpers import run_cli
from culturalign.compare import units
from culturalign.compare.leaderboard import BEHIND, BEST, TIED, leaderboard
from culturalign.compare.methods import agreement_table
from culturalign.compare.paired import PAIRED, UNPAIRED, bootstrap_cell, estimates_table, pairs_table
from culturalign.compare.run import compare

ITEMS = [f"q{i:02d}" for i in range(30)]
LANGUAGES = ["da", "en", "nl", "pt"]
COLUMNS = ["model_name", "model_family", "language", "response_language", "question_key", "response_pro_score"]


def _truth_values(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {lang: rng.uniform(0.1, 0.9, len(ITEMS)) for lang in LANGUAGES}


def _rows(
    rng: np.random.Generator,
    truth: dict[str, np.ndarray],
    noise: dict[tuple[str, str], float | None],
    shared: dict[str, np.ndarray],
    per_item: int = 3,
) -> pl.DataFrame:
    """entry, language, item, vps, truth. Both models share an item-level deviation per language
    (what a paired test cancels); `noise[(model, language)]` is each model's own noise (None: the
    model answers at random, unrelated to the truth)."""
    rows = []
    for (model, lang), sd in noise.items():
        for i, item in enumerate(ITEMS):
            for _ in range(per_item):
                if sd is None:
                    vps = rng.uniform(0, 1)
                else:
                    vps = np.clip(truth[lang][i] + shared[lang][i] + rng.normal(0, sd), 0, 1)
                rows.append((model, lang, item, round(float(vps), 1), float(truth[lang][i])))
    return pl.DataFrame(rows, schema=["entry", "language", "item", "vps", "truth"], orient="row")


def _paired_tests(rows: pl.DataFrame, rounds: int = 200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pairs_table([bootstrap_cell(cell, rng, rounds) for cell in units.wvs_cells(rows)])


def _paired_flags(rows: pl.DataFrame, rounds: int = 200, seed: int = 0) -> dict[str, bool]:
    return {r["cell"]: bool(r["significant"]) for r in _paired_tests(rows, rounds, seed).iter_rows(named=True)}


def test_paired_test_finds_a_planted_difference_in_two_of_four_languages() -> None:
    planted = {"da", "nl"}
    found = {lang: 0 for lang in LANGUAGES}
    unadjusted = {lang: 0 for lang in LANGUAGES}
    datasets = 100
    for d in range(datasets):
        rng = np.random.default_rng(100 + d)
        truth = _truth_values(rng)
        shared = {lang: rng.normal(0, 0.1, len(ITEMS)) for lang in LANGUAGES}
        noise = {("A", lang): 0.1 for lang in LANGUAGES}
        noise |= {("B", lang): None if lang in planted else 0.1 for lang in LANGUAGES}
        for r in _paired_tests(_rows(rng, truth, noise, shared), seed=d).iter_rows(named=True):
            found[r["cell"]] += bool(r["significant"])
            unadjusted[r["cell"]] += r["p"] < 0.05
    print(
        f"\nplanted difference (da, nl) found / others flagged in {datasets} datasets, Holm over 4: {found}; "
        f"unadjusted p < .05: {unadjusted}"
    )
    assert found["da"] >= 95 and found["nl"] >= 95
    # 5% + noise: at most 10 of 100 (binomial(100, 0.05) exceeds 10 with probability < 1.2%)
    assert found["en"] <= 10 and found["pt"] <= 10


def test_unadjusted_paired_p_values_hold_on_noisy_null_data() -> None:
    """Two models from the same noisy process (heavy clipping, few items): p < .05 in about 5%."""
    flags = tests = 0
    for d in range(100):
        rng = np.random.default_rng(1000 + d)
        shared = {lang: rng.normal(0, 0.1, len(ITEMS)) for lang in LANGUAGES}
        noise = {(m, lang): 0.5 for m in ("A", "B") for lang in LANGUAGES}
        table = _paired_tests(_rows(rng, _truth_values(rng), noise, shared), seed=d)
        flags += int((table["p"] < 0.05).sum())
        tests += table.height
    print(f"\nunadjusted paired tests on null data: {flags} of {tests} at p < .05 ({flags / tests:.1%})")
    assert flags / tests <= 0.08  # 400 tests: 8% lies 2.7 standard errors above 5%


def test_an_identical_pair_flags_nothing() -> None:
    rng = np.random.default_rng(1)
    rows = _rows(
        rng, _truth_values(rng), {("A", lang): 0.2 for lang in LANGUAGES}, {lang: np.zeros(30) for lang in LANGUAGES}
    )
    twin = rows.with_columns(pl.lit("B").alias("entry"))
    flags = _paired_flags(pl.concat([rows, twin]))
    assert flags and not any(flags.values())


def test_the_paired_bootstrap_resamples_shared_units_jointly() -> None:
    """Two models that share large item effects and differ a little: the same items drawn for both
    cancel the item effects; drawing each model's items on its own does not."""
    rng = np.random.default_rng(7)
    truth = {"da": rng.uniform(0.1, 0.9, len(ITEMS))}
    shared = {"da": rng.normal(0, 0.3, len(ITEMS))}
    rows = _rows(rng, truth, {("A", "da"): 0.08, ("B", "da"): 0.2}, shared, per_item=4)
    joint = units.wvs_cells(rows)[0]
    apart = units.wvs_cells(rows.with_columns(pl.col("item") + "_" + pl.col("entry")))[0]  # no unit in common
    assert joint.paired and not apart.paired
    res_joint = bootstrap_cell(joint, np.random.default_rng(0), 400)
    res_apart = bootstrap_cell(apart, np.random.default_rng(0), 400)
    assert np.allclose(res_joint.point, res_apart.point)  # same data, same estimates
    sd_joint = np.std(res_joint.rounds[:, 0] - res_joint.rounds[:, 1])
    sd_apart = np.std(res_apart.rounds[:, 0] - res_apart.rounds[:, 1])
    assert sd_joint < 0.6 * sd_apart
    pairs_joint, pairs_apart = pairs_table([res_joint]), pairs_table([res_apart])
    assert pairs_joint["resampling"][0] == PAIRED and pairs_apart["resampling"][0] == UNPAIRED
    assert pairs_joint["significant"][0] and not pairs_apart["significant"][0]


def test_leaderboard_ties_share_the_marker() -> None:
    # A and B are the same model up to response noise (their calibration is the planted test's
    # job); C answers with far more noise. A-twin is A's responses again: a tie by construction.
    rng = np.random.default_rng(4)
    truth = _truth_values(rng)
    shared = {lang: rng.normal(0, 0.2, len(ITEMS)) for lang in LANGUAGES}
    noise = {("A", "en"): 0.15, ("B", "en"): 0.15, ("C", "en"): 0.6}
    rows = _rows(rng, truth, noise, shared)
    rows = pl.concat([rows, rows.filter(pl.col("entry") == "A").with_columns(pl.lit("A-twin").alias("entry"))])
    draws = [bootstrap_cell(c, np.random.default_rng(0), 300) for c in units.wvs_cells(rows)]
    board = leaderboard(estimates_table(draws), pairs_table(draws))
    marker = dict(zip(board["entry"], board["marker"], strict=True))
    assert all(marker[m] in (BEST, TIED) for m in ("A", "A-twin", "B")) and marker["C"] == BEHIND
    assert list(marker.values()).count(BEST) == 1
    assert board.sort("rank")["entry"][-1] == "C"


def _method_values(order: np.ndarray, rng: np.random.Generator, rounds: int = 200) -> dict:
    """values[(model, language)] = (point, draws) with the given order of 10 models in one language."""
    return {(f"m{i}", "en"): (float(v), v + rng.normal(0, 0.02, rounds)) for i, v in enumerate(order)}


def test_cross_method_tau_near_one_when_methods_agree_and_near_zero_when_shuffled() -> None:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 1, 10)
    agree = agreement_table({"wvs": _method_values(base, rng), "statements": _method_values(base * 3, rng)}, 200)
    assert agree.height == 1 and agree["tau"][0] > 0.95 and agree["ci_low"][0] > 0.8
    taus = []
    for k in range(30):
        shuffled = np.random.default_rng(k).permutation(base)
        table = agreement_table({"wvs": _method_values(base, rng), "vsm": _method_values(shuffled, rng)}, 200)
        taus.append(table["tau"][0])
    print(f"\ncross-method tau: agreeing {agree['tau'][0]:.2f}; shuffled mean {np.mean(taus):+.2f} over 30 shuffles")
    assert abs(np.mean(taus)) < 0.15


# -- end to end: files, CLI, HTML ----------------------------------------------------------------
def _write_run(path, rng, truth, shared, noise) -> None:
    rows = _rows(rng, truth, noise, shared)
    table = rows.select(
        pl.col("entry").alias("model_name"),
        pl.lit("fam").alias("model_family"),
        "language",
        pl.col("language").alias("response_language"),
        pl.col("item").alias("question_key"),
        pl.col("vps").alias("response_pro_score"),
    )
    table.write_csv(path)


def _truth_file(path, truth: dict[str, np.ndarray]) -> None:
    rows = [
        ("language", lang, item, float(v)) for lang, vec in truth.items() for item, v in zip(ITEMS, vec, strict=True)
    ]
    pl.DataFrame(rows, schema=["population_kind", "population", "item", "vps"], orient="row").write_csv(path)


@pytest.fixture
def two_runs(tmp_path):
    rng = np.random.default_rng(11)
    truth = _truth_values(rng)
    shared = {lang: rng.normal(0, 0.2, len(ITEMS)) for lang in LANGUAGES}
    before = {(m, lang): 0.15 for m in ("<b>model-x</b>", "model-y") for lang in LANGUAGES}
    after = dict(before) | {("model-y", "pt"): 0.6}  # model-y got worse in pt after an "update"
    _write_run(tmp_path / "before.csv", rng, truth, shared, before)
    _write_run(tmp_path / "after.csv", rng, truth, shared, after)
    _truth_file(tmp_path / "truth.csv", truth)
    return tmp_path


def test_two_run_diff_through_the_command_line(two_runs, capsys) -> None:
    out = two_runs / "cmp"
    code, stdout, stderr = run_cli(
        ["compare", str(two_runs / "before.csv"), str(two_runs / "after.csv"), "--ground-truth",
         str(two_runs / "truth.csv"), "-o", str(out), "--rounds", "300"],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    diff = pl.read_parquet(out / "diff.parquet")
    beyond = diff.filter(pl.col("verdict") == "beyond noise")
    assert beyond.select("model", "cell").rows() == [("model-y", "pt")]
    assert beyond["change"][0] < 0
    for name in ("leaderboard.csv", "leaderboard.parquet", "pairs.csv", "estimates.parquet", "compare.html"):
        assert (out / name).is_file(), name
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "<b>model-x</b>" not in html and "&lt;b&gt;model-x&lt;/b&gt;" in html  # escaped, as in reports
    assert "Content-Security-Policy" in html and "data:image/png" in html
    assert "Holm" in html and "beyond noise" in html


def test_paper_responses_order_and_adjacent_pairs(paper_data, tmp_path) -> None:
    """The nine released models: compare orders them as the paper's alignment does (Spearman of each
    response's score against the released per-language ground truth of its item, computed here
    straight from the two released files) and says which neighbours are distinguishable."""
    path = paper_data / "all_lang_model_responses_with_scores.csv"
    result = compare([path], ground_truth=paper_data, rounds=300)
    truth = pl.read_csv(paper_data / "ground_truth_per_language.csv").select(
        pl.col("lnge_iso").alias("language"), pl.col("question_key").str.to_lowercase(), "pro_score"
    )
    released = (
        pl.read_csv(path)
        .filter(pl.col("language") == pl.col("response_language"))
        .with_columns(pl.col("question_key").str.to_lowercase())
        .join(truth, on=["language", "question_key"])
    )
    for language in LANGUAGES:
        part = released.filter(pl.col("language") == language)
        expected = {
            model: stats.spearmanr(g["response_pro_score"], g["pro_score"]).statistic
            for (model,), g in part.group_by("model_name")
        }
        board = result.leaderboard.filter(pl.col("cell") == language).sort("rank")
        assert board.height == 9
        assert board["entry"].to_list() == sorted(expected, key=expected.get, reverse=True)
        assert np.allclose(board["estimate"].to_numpy(), sorted(expected.values(), reverse=True), atol=1e-9)
    adjacent = result.adjacent
    assert adjacent.height == 4 * 8 and adjacent["distinguishable"].null_count() == 0
    named = adjacent.filter(pl.col("distinguishable")).select("cell", "upper", "lower").rows()
    print(f"\nadjacent pairs distinguishable (Holm over the 8 steps of each language): {len(named)} of 32 {named}")


@pytest.mark.parametrize(
    "case",
    ["one_model", "missing_path", "no_shared_language", "different_probes", "not_an_input", "few_rounds"],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(case, two_runs, tmp_path, capsys) -> None:
    truth = str(two_runs / "truth.csv")
    single = tmp_path / "single.csv"
    pl.read_csv(two_runs / "before.csv").filter(pl.col("model_name") == "model-y").write_csv(single)
    other = tmp_path / "other.csv"
    pl.read_csv(two_runs / "before.csv").filter(
        (pl.col("model_name") == "model-y") & (pl.col("language") == "da")
    ).write_csv(other)
    only_en = tmp_path / "only_en.csv"
    pl.read_csv(two_runs / "before.csv").filter(
        (pl.col("model_name") != "model-y") & (pl.col("language") == "en")
    ).write_csv(only_en)
    vsm = tmp_path / "vsm_analysis"
    vsm.mkdir()
    (vsm / "manifest.json").write_text('{"probe": "vsm"}')
    pl.DataFrame({"model": ["z"], "country": ["china"], "condition": ["aligned"], "dr": [1.2]}).write_parquet(
        vsm / "deviation_ratio.parquet"
    )
    args = {
        "one_model": [str(single)],
        "missing_path": [str(single), str(tmp_path / "nope.csv")],
        "no_shared_language": [str(other), str(only_en)],
        "different_probes": [str(single), str(vsm)],
        "not_an_input": [str(single), str(tmp_path)],
        "few_rounds": [str(single), str(two_runs / "after.csv"), "--rounds", "10"],
    }[case]
    out = tmp_path / "out"
    code, _, stderr = run_cli(["compare", *args, "--ground-truth", truth, "-o", str(out)], capsys)
    assert code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_an_analysis_folder_and_a_response_table_compare(two_runs, capsys) -> None:
    """`analyze` writes the analysed responses, so its folder is a compare input like any other."""
    analysis = two_runs / "analysis"
    code, _, stderr = run_cli(
        ["analyze", "--responses", str(two_runs / "before.csv"), "--ground-truth", str(two_runs / "truth.csv"),
         "--rounds", "20", "-o", str(analysis)],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    assert (analysis / "responses.parquet").is_file()
    result = compare([analysis, two_runs / "after.csv"], ground_truth=two_runs / "truth.csv", rounds=200)
    # a folder named "analysis" is labelled by the run folder that holds it
    assert set(result.estimates["entry"]) == {
        f"{m} @ {run}" for m in ("<b>model-x</b>", "model-y") for run in (two_runs.name, "after")
    }
    assert result.diff is not None and result.diff.height == 2 * len(LANGUAGES)
    assert (result.estimates["resampling"] == PAIRED).all()


def test_a_run_store_is_read_through_its_judged_responses(two_runs) -> None:
    from culturalign.store.db import RunStore

    table = pl.read_csv(two_runs / "before.csv")
    with RunStore(two_runs / "runs.sqlite") as store:
        run_id = store.start_run("before-run", "wvs", {})
        keys = [f"k{i}" for i in range(table.height)]
        meta = [
            (k, {"model": r["model_name"], "family": "fam", "language": r["language"], "item": r["question_key"]})
            for k, r in zip(keys, table.iter_rows(named=True), strict=True)
        ]
        store.register_requests(run_id, "generate", meta)
        store.save_results(run_id, "parse", [(k, {"kept": True, "response_language": m["language"]}) for k, m in meta])
        store.save_results(
            run_id, "judge", [(k, {"vps": v}) for k, v in zip(keys, table["response_pro_score"], strict=True)]
        )
    from_store = compare([two_runs / "runs.sqlite"], ground_truth=two_runs / "truth.csv", rounds=200)
    from_table = compare([two_runs / "before.csv"], ground_truth=two_runs / "truth.csv", rounds=200)
    assert from_store.estimates.drop("entry").equals(from_table.estimates.drop("entry"))


def test_inputs_without_shared_units_fall_back_to_an_unpaired_comparison(two_runs) -> None:
    before = pl.read_csv(two_runs / "before.csv").filter(pl.col("model_name") == "model-y")
    other = pl.read_csv(two_runs / "after.csv").filter(pl.col("model_name") == "<b>model-x</b>")
    other.with_columns(pl.col("question_key") + "_b").write_csv(two_runs / "other_items.csv")
    truth = pl.read_csv(two_runs / "truth.csv")
    pl.concat([truth, truth.with_columns(pl.col("item") + "_b")]).write_csv(two_runs / "truth_both.csv")
    before.write_csv(two_runs / "y_only.csv")
    result = compare(
        [two_runs / "y_only.csv", two_runs / "other_items.csv"], ground_truth=two_runs / "truth_both.csv", rounds=200
    )
    assert (result.pairs["resampling"] == UNPAIRED).all() and result.pairs.height == len(LANGUAGES)
    assert all(any(f"wvs {lang}: no item value is shared" in n for n in result.notes) for lang in LANGUAGES)
