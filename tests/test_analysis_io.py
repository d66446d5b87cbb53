"""Importing response tables, the run-store path, the written tables and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from culturalign.cli.main import main
from culturalign.errors import DataError
from culturalign.probes.wvs.analysis.from_store import responses_from_store
from culturalign.probes.wvs.analysis.outputs import write_outputs
from culturalign.probes.wvs.analysis.pipeline import analyze_responses
from culturalign.probes.wvs.analysis.responses import load_response_table
from culturalign.store.db import RunStore

ITEMS = [f"q{i}" for i in range(8)]
COUNTRIES = {"US": 0.0, "DK": 0.3, "NL": -0.2}
REPORT_TABLES = [
    "alignment",
    "consistency",
    "rq1",
    "us_bias",
    "human_consistency",
    "capability",
    "ground_truth",
    "us_gap",
]


def synthetic_truth() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.9, len(ITEMS))
    rows = []
    for country, shift in COUNTRIES.items():
        for item, value in zip(ITEMS, np.clip(base + shift * rng.uniform(-1, 1, len(ITEMS)), 0, 1), strict=True):
            rows.append(("country", country, item, float(value)))
    for lang, country in (("da", "DK"), ("nl", "NL"), ("en", "US")):
        rows += [("language", lang, item, vps) for kind, pop, item, vps in rows if pop == country and kind == "country"]
    rows += [("global", "global", item, float(v)) for item, v in zip(ITEMS, base, strict=True)]
    return pl.DataFrame(rows, schema=["population_kind", "population", "item", "vps"], orient="row")


def synthetic_responses(truth: pl.DataFrame, per_item: int = 6) -> pl.DataFrame:
    """Two models that track their language's truth with different noise, in da and nl."""
    rng = np.random.default_rng(1)
    lookup = {(r["population"], r["item"]): r["vps"] for r in truth.iter_rows(named=True)}
    rows = []
    for model, family, noise in (("good", "fam_a", 0.08), ("noisy", "fam_b", 0.3)):
        for lang in ("da", "nl"):
            for item in ITEMS:
                for _ in range(per_item):
                    vps = float(np.clip(lookup[(lang, item)] + rng.normal(0, noise), 0, 1))
                    rows.append((model, family, lang, lang, item, round(vps, 1)))
    return pl.DataFrame(
        rows,
        schema=["model_name", "model_family", "language", "response_language", "question_key", "response_pro_score"],
        orient="row",
    )


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "responses.csv"
    synthetic_responses(synthetic_truth()).with_columns(pl.lit("x").alias("extra")).write_csv(path)
    return path


def test_import_ignores_extra_columns_and_normalises(table_file: Path) -> None:
    df = load_response_table(table_file)
    assert df.columns == ["model", "family", "language", "response_language", "item", "vps"]
    assert df.height == 2 * 2 * len(ITEMS) * 6


def test_import_names_the_missing_column(tmp_path: Path, table_file: Path) -> None:
    path = tmp_path / "short.csv"
    pl.read_csv(table_file).drop("question_key").write_csv(path)
    with pytest.raises(DataError, match="question_key"):
        load_response_table(path)


@pytest.mark.parametrize(("score", "message"), [("1.5", "outside"), ("abc", "numbers")])
def test_import_rejects_bad_scores(tmp_path: Path, table_file: Path, score: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    text = table_file.read_text().splitlines()
    parts = text[1].split(",")
    parts[5] = score
    path.write_text("\n".join([text[0], ",".join(parts), *text[2:]]) + "\n")
    with pytest.raises(DataError, match=message):
        load_response_table(path)


def test_import_rejects_a_file_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError):
        load_response_table(path)


def test_analysis_tables_and_manifest(tmp_path: Path, table_file: Path) -> None:
    truth = synthetic_truth()
    result = analyze_responses(load_response_table(table_file), truth, rounds=40, seed=3)
    out = write_outputs(result, tmp_path / "out")
    for name in REPORT_TABLES:
        assert (out / f"{name}.csv").exists() and (out / f"{name}.parquet").exists(), name
    assert (out / "bootstrap.parquet").exists() and (out / "rq1_summary.txt").exists()
    alignment = pl.read_csv(out / "alignment.csv")
    assert alignment.columns == [
        "model",
        "family",
        "language",
        "population_kind",
        "population",
        "mean",
        "ci_low",
        "ci_high",
        "n_responses",
        "n_items",
    ]
    own = alignment.filter((pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language")))
    good = own.filter(pl.col("model") == "good")["mean"].min()
    noisy = own.filter(pl.col("model") == "noisy")["mean"].max()
    uniform = own.filter(pl.col("model") == "Baseline_uniform_random")["mean"].to_list()
    perfect = own.filter(pl.col("model") == "Baseline_perfect")["mean"].to_list()
    assert good > noisy and good > 0.8
    assert all(abs(u) < 0.35 for u in uniform) and all(p > 0.95 for p in perfect)
    assert (alignment["ci_low"] <= alignment["mean"]).all() and (alignment["mean"] <= alignment["ci_high"]).all()
    consistency = pl.read_csv(out / "consistency.csv")
    assert consistency.columns == ["model", "family", "language", "mean", "ci_low", "ci_high"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["probe"] == "wvs" and manifest["rounds"] == 40 and manifest["judge_error_rate"] == 0.045
    assert manifest["consistency_definition"] == "clean" and "alignment.csv" in manifest["files"]
    assert any("capability effect not estimated" in note for note in manifest["notes"])
    # the same seed gives the same numbers
    again = analyze_responses(load_response_table(table_file), truth, rounds=40, seed=3)
    assert again.alignment.equals(result.alignment)


def test_us_gap_test_runs_on_synthetic_truth(table_file: Path) -> None:
    """The default analysis tests the draw-free US gap; the paper's OLS on rounds is reproduce's only."""
    result = analyze_responses(load_response_table(table_file), synthetic_truth(), rounds=30, seed=0)
    assert result.rq2 is None and result.rq1 == {}
    gap = result.us_gap
    assert set(gap["model"]) == {"good", "noisy"} and set(gap["language"]) == {"da", "nl"}
    assert gap["p"].is_between(0, 1).all()
    assert set(gap["more_aligned_with"]) <= {"us", "native", "neither"}
    # "good" tracks the native truth closely: more aligned with DK/NL than with the US
    good = gap.filter(pl.col("model") == "good")
    assert (good["mean"] < 0).all() and "us" not in good["more_aligned_with"].to_list()


def test_responses_from_store(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.start_run("t", "wvs", {})
        meta = [(f"k{i}", {"model": "m", "family": "f", "language": "da", "item": ITEMS[i % 3]}) for i in range(6)]
        store.register_requests(run_id, "generate", meta)
        store.save_results(run_id, "parse", [(f"k{i}", {"kept": i != 5, "response_language": "da"}) for i in range(6)])
        store.save_results(run_id, "judge", [(f"k{i}", {"vps": None if i == 4 else i / 10}) for i in range(5)])
        table, counts = responses_from_store(store, run_id)
    assert table.height == 4
    assert counts == {"generated": 6, "parsed": 6, "dropped_by_parser": 1, "no_vps": 1, "analysed": 4}
    assert table["item"].to_list()[:3] == ITEMS[:3]


def test_cli_analyze_bad_input_is_one_line_and_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("model_name,language\na,da\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--responses", str(bad), "--output", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "question_key" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_analyze_needs_exactly_one_source(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "--store" in capsys.readouterr().err


def test_cli_analyze_writes_tables(tmp_path: Path, table_file: Path) -> None:
    truth_path = tmp_path / "truth.csv"
    synthetic_truth().write_csv(truth_path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "analyze",
                "--responses",
                str(table_file),
                "--ground-truth",
                str(truth_path),
                "--output",
                str(out),
                "--rounds",
                "20",
                "--seed",
                "1",
            ]
        )
    assert exit_info.value.code in (0, None)
    assert (out / "manifest.json").exists() and (out / "alignment.parquet").exists()


def test_analyze_stage_writes_the_analysis_folder(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from culturalign.probes.wvs.analysis_stage import analyze_stage

    truth = synthetic_truth()
    truth_path = tmp_path / "truth.csv"
    truth.write_csv(truth_path)
    table = synthetic_responses(truth, per_item=2)
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.start_run("t", "wvs", {})
        keys = [f"k{i}" for i in range(table.height)]
        store.register_requests(
            run_id,
            "generate",
            [
                (
                    key,
                    {
                        "model": r["model_name"],
                        "family": r["model_family"],
                        "language": r["language"],
                        "item": r["question_key"],
                    },
                )
                for key, r in zip(keys, table.iter_rows(named=True), strict=True)
            ],
        )
        store.save_results(
            run_id,
            "parse",
            [
                (key, {"kept": True, "response_language": r["response_language"]})
                for key, r in zip(keys, table.iter_rows(named=True), strict=True)
            ],
        )
        store.save_results(
            run_id,
            "judge",
            [(key, {"vps": r["response_pro_score"]}) for key, r in zip(keys, table.iter_rows(named=True), strict=True)],
        )
        config = SimpleNamespace(ground_truth=str(truth_path), seed=1, judge_error_rate=None, judges=[])
        ctx = SimpleNamespace(
            store=store, run_id=run_id, config=config, output_dir=tmp_path / "out", result=lambda stage, model: None
        )
        analysed = analyze_stage(ctx)
    out = tmp_path / "out" / "analysis"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["store_counts"]["analysed"] == table.height
    assert manifest["judge_validation"]["quality"]  # the default judge's measured quality, as the report reads it
    assert pl.read_csv(out / "alignment.csv").height > 0
    assert analysed.responses == table.height and analysed.folder == out


def test_released_consistency_is_inflated_by_population_copies(table_file: Path) -> None:
    responses = load_response_table(table_file)
    clean = analyze_responses(responses, synthetic_truth(), rounds=20, seed=2)
    released = analyze_responses(responses, synthetic_truth(), rounds=20, seed=2, consistency="released")
    assert released.manifest["consistency_definition"] == "released"

    def noisy(result) -> float:
        return result.consistency.filter(pl.col("model") == "noisy")["mean"].mean()

    assert noisy(released) > noisy(clean) + 0.1


def test_analysis_of_a_stored_run_carries_its_judges_measured_quality(tmp_path):
    from culturalign.probes.wvs.analysis.run_analysis import judge_validation_of_run
    from culturalign.store import RunStore

    with RunStore(tmp_path / "s.sqlite") as store:
        run_id = store.start_run("r", "wvs", {})
        assert judge_validation_of_run(store, run_id) is None  # nothing judged yet: unknown, not invented
        store.save_results(run_id, "judge", [("k1", {"judge": "lexicon", "vps": 0.5}), ("k2", {"judge": "lexicon"})])
        quality = judge_validation_of_run(store, run_id)["quality"]
    assert [q["judge"] for q in quality] == ["lexicon"]
    assert quality[0]["validated"] and quality[0]["cohen_kappa"] < 0.6
