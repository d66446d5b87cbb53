"""Judge quality everywhere: `judge validate` keeps its result by judge identity, and later
analyses and reports of a run judged by that judge show it (read from the HTML); several
judges show their failures and Fleiss' kappa; a failing judge is a warning at the top; the
attenuation correction uses the measured error and says where it came from. Also the report's
interim/finished status and what an empty section says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import run_cli
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.probes.wvs.judge import records
from culturalign.probes.wvs.judge.quality import PAPER_ERROR_RATE, error_rate_for, quality_for
from culturalign.probes.wvs.judge_quality import failure_warnings
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.run import run_experiment
from culturalign.store.db import RunStore

SUMMARIES = ["Anna approves of it.", "Ben rejects it firmly.", "Carl has no view.", "Dora supports it."]


def _ground_truth(path: Path) -> Path:
    """A small tidy ground truth for English speakers over every codebook item (made up, not survey data)."""
    keys = load_codebook().keys()
    pl.DataFrame(
        {
            "population_kind": ["language"] * len(keys),
            "population": ["en"] * len(keys),
            "item": keys,
            "vps": [(i % 10) / 10 + 0.05 for i in range(len(keys))],
            "n_respondents": [100] * len(keys),
            "weight_sum": [100.0] * len(keys),
        }
    ).write_csv(path)
    return path


def _experiment(tmp_path: Path, judges: str) -> Path:
    text = f"""
probe = "wvs"
name = "judged"
seed = 3
languages = ["en"]
store = "runs/judged.sqlite"
output = "runs/judged"
ground_truth = "{_ground_truth(tmp_path / "gt.csv").as_posix()}"
{judges}

[[models]]
name = "gen"
backend = "mock"

[wvs]
prompts_per_language = 24
"""
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _reference_set(tmp_path: Path, n: int = 12) -> tuple[Path, Path]:
    """Hand-labelled English responses of four interviewees each (our own toy texts); enough of them
    that the mock judge's random answers give some responses a VPS on both sides."""
    lines = [
        json.dumps(
            {"topic": "homosexuality", "response": "\n".join(f"{i}. {s} ({k})" for i, s in enumerate(SUMMARIES, 1))}
        )
        for k in range(n)
    ]
    responses = tmp_path / "reference.jsonl"
    responses.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [
        {"line": line, "item": "f118", "language": "en", "interviewee": i, "label": label}
        for line in range(n)
        for i, label in enumerate(["pro", "con", "null", "pro"], 1)
    ]
    labels = tmp_path / "labels.csv"
    pl.DataFrame(rows).write_csv(labels)
    return labels, responses


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _before_sections(html: str) -> str:
    return html.split('<section id="s1">')[0]


def test_a_validated_judge_shows_its_figures_in_later_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    experiment = _experiment(tmp_path, '[[judges]]\nname = "mj"\nbackend = "mock"')
    first = run_experiment(experiment, show_progress=False)
    html = _html(first.report_path)
    assert "mj: not validated" in html
    assert "the paper&#39;s judge (0.045)" in html  # the error used, and why

    labels, responses = _reference_set(tmp_path)
    store = tmp_path / "runs" / "judged.sqlite"
    args = ["judge", "validate", "--labels", str(labels), "--responses", str(responses), "--judge", "mj"]
    args += ["--experiment", str(experiment), "--store", str(store), "--output", str(tmp_path / "v"), "--rounds", "20"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "v" / "judge-validation-mj.json").read_text(encoding="utf-8"))
    mae = record["vps_mae"]["estimate"]

    # a report of the analysis made before the validation says that a newer one exists
    code, out, err = run_cli(["report", str(store), "-o", str(tmp_path / "stale")], capsys)
    assert code == 0, err
    assert "The judge mj has a newer validation than this analysis used" in _html(Path(out.strip()))

    # the same run, resumed: nothing is asked again, and the analysis now knows the judge
    again = run_experiment(experiment, show_progress=False)
    assert again.results["generate"].asked == 0
    html = _html(again.report_path)
    assert "mj: not validated" not in html and "newer validation" not in html
    assert "mj: agreement" in html and "Cohen&#39;s kappa" in html and "VPS mean absolute error" in html
    assert "found in the run store judged.sqlite" in html
    assert f"{mae:.3f}: measured VPS error of the judge mj" in html
    manifest = json.loads((tmp_path / "runs" / "judged" / "analysis" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["judge_error_rate"] == pytest.approx(mae)
    assert manifest["judge_error_rate_source"].startswith("measured VPS error of the judge mj")

    # the record lives beside the run without changing what the run exports
    code, _, err = run_cli(["runs", "export", str(store), "-o", str(tmp_path / "calls.parquet")], capsys)
    assert code == 0, err
    assert not [c for c in pl.read_parquet(tmp_path / "calls.parquet").columns if c.startswith("judge-validation")]

    # `culturalign analyze --store` of that run finds it too
    code, _, err = run_cli(["analyze", "--store", str(store), "--ground-truth", str(tmp_path / "gt.csv"),
                            "--output", str(tmp_path / "a"), "--rounds", "20"], capsys)  # fmt: skip
    assert code == 0, err
    analysed = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert analysed["judge_error_rate"] == pytest.approx(mae)


def test_several_judges_show_failures_fleiss_kappa_and_a_warning_at_the_top(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    judges = (
        '[[judges]]\nname = "steady"\nbackend = "mock"\n\n'
        '[[judges]]\nname = "flaky"\nbackend = "mock"\noptions = { fail_rate = 0.8 }'
    )
    result = run_experiment(_experiment(tmp_path, judges), show_progress=False)
    html = _html(result.report_path)
    top = _before_sections(html)
    assert re.search(r"The judge flaky could not label \d+ of the \d+ responses it was asked about \(\d+%", top)
    assert "The judge steady could not label" not in html
    assert "Agreement between the judges" in html and "Fleiss&#39; kappa" in html
    assert re.search(r"steady: 0 of \d+ responses \(0\.0%\), 0 of \d+ calls failed; flaky: \d+ of \d+ responses", html)
    assert re.search(r"flaky: \d+ of \d+ responses \(\d+\.\d%\), \d+ of \d+ calls failed", html)
    # two judges combined were never validated as one: the paper's error, and the reason
    assert "combines 2 judges" in html


def test_a_judge_whose_calls_often_fail_is_a_warning_even_when_retries_recover():
    quality = {"quality": [{"judge": "j", "judged": 40, "failed": 0, "failure_rate": 0.0,
                            "calls": 60, "failed_calls": 20, "call_failure_rate": 20 / 60}]}  # fmt: skip
    (warning,) = failure_warnings(quality)
    assert warning.startswith("20 of the judge j's 60 calls failed (33%")
    quality["quality"][0].update(failed_calls=3, call_failure_rate=0.05)
    assert failure_warnings(quality) == []


def test_interim_and_finished_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = run_experiment(_experiment(tmp_path, ""), show_progress=False)
    finished = _html(result.report_path)
    assert "status done" in finished and "status running" not in finished and "(running)" not in finished
    assert "Interim report" not in finished and "(interim)" not in finished

    store = tmp_path / "runs" / "judged.sqlite"
    with RunStore(store) as holder:  # the run resumed and held, as by a `culturalign run` still working
        info = holder.run()
        holder.start_run(info.name, info.probe, info.config)
        code, out, err = run_cli(["report", str(store), "-o", str(tmp_path / "going")], capsys)
        assert code == 0, err
        interim = _html(Path(out.strip()))
        assert "<title>culturalign report (interim)" in interim
        assert "Interim report: run judged is still going" in _before_sections(interim)
    # the holder went away without finishing: the run stopped, and its report says so
    code, out, err = run_cli(["report", str(store), "-o", str(tmp_path / "stopped")], capsys)
    assert code == 0, err
    stopped = _html(Path(out.strip()))
    assert "Interim report: run judged stopped before it finished (status interrupted)" in _before_sections(stopped)


def test_judge_identity_is_model_parameters_and_prompt(monkeypatch):
    spec = ModelSpec(name="a", backend="openai", model="m", base_url="http://127.0.0.1:1")
    renamed = spec.model_copy(update={"name": "b"})
    warmer = spec.model_copy(update={"params": GenerateConfig(temperature=0.7)})
    key = records.identity_key(records.judge_identity(spec))
    assert records.identity_key(records.judge_identity(renamed)) == key  # a name is not an identity
    assert records.identity_key(records.judge_identity(warmer)) != key
    monkeypatch.setattr(records, "prompt_fingerprint", lambda: "another prompt")
    assert records.identity_key(records.judge_identity(spec)) != key


def test_records_are_found_by_identity_store_first(tmp_path):
    spec = ModelSpec(name="j", backend="openai", model="m", base_url="http://127.0.0.1:1")
    assert not quality_for(spec).validated
    summary = {"n_summaries": 12, "n_responses": 3, "coverage": 1.0}
    labels = tmp_path / "labels.csv"
    labels.write_text("line,item,language,interviewee,label\n", encoding="utf-8")
    store_path = tmp_path / "s.sqlite"
    with RunStore(store_path) as store:
        store.start_run("judged", "wvs", {})
    stored = records.make_record(spec, {**summary, **_figures(0.9, 0.8, 0.05)}, labels)
    records.save_record(stored, store_path)  # into the store and the user cache
    later = records.make_record(
        spec.model_copy(update={"name": "same-judge"}), {**summary, **_figures(0.5, 0.2, 0.3)}, labels
    )
    records.save_record(later)  # the user cache only
    assert quality_for(spec).vps_mae == pytest.approx(0.30) and "user cache" in quality_for(spec).source
    with RunStore(store_path) as store:
        found = quality_for(spec, store)
        assert store.run().name == "judged"  # recording a validation made no run of its own
    assert found.vps_mae == pytest.approx(0.05) and found.interpretable and "run store s.sqlite" in found.source


def _figures(agreement: float, kappa: float, mae: float) -> dict:
    return {
        "agreement": {"estimate": agreement, "low": agreement - 0.1, "high": agreement + 0.05},
        "cohen_kappa": {"estimate": kappa, "low": kappa - 0.1, "high": kappa + 0.05},
        "vps_mae": {"estimate": mae, "low": mae / 2, "high": mae * 1.5},
    }


def test_error_rate_choice_says_where_it_came_from():
    measured = [{"judge": "j", "vps_mae": {"estimate": 0.12}, "source": "validation"}]
    assert error_rate_for(None, measured) == (0.12, "measured VPS error of the judge j (validation)")
    assert error_rate_for(0.2, measured)[0] == 0.2
    assert error_rate_for(None, [{"judge": "j", "validated": False}])[0] == PAPER_ERROR_RATE
    assert "combines 2 judges" in error_rate_for(None, measured * 2)[1]


def test_validate_into_a_missing_store_is_one_line(tmp_path, capsys):
    labels, responses = _reference_set(tmp_path)
    args = ["judge", "validate", "--labels", str(labels), "--responses", str(responses), "--judge", "lexicon"]
    code, _, err = run_cli([*args, "--store", str(tmp_path / "nope.sqlite")], capsys)
    assert code == 2 and "run store not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nope.sqlite").exists()
