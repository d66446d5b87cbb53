"""`--dry-run` counts every call a run makes (judges included), and a run records what it spent.

The estimate is compared with what a real run (mock model, mock judge) leaves in the store;
a plan of more than a million calls is counted without building its requests.
"""

from __future__ import annotations

import socket
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import run_cli
from culturalign.run import run_experiment
from culturalign.store import RunStore

EXPERIMENT = """
probe = "wvs"
name = "counted"
seed = 3
languages = ["en", "da"]
store = "runs/counted.sqlite"
output = "runs/counted"

[[models]]
name = "gen-a"
backend = "mock"
price_input_per_mtok = 1.0
price_output_per_mtok = 4.0

[[models]]
name = "gen-b"
backend = "mock"
prompt_style = "completion"

[[judges]]
name = "judge-a"
backend = "mock"
price_input_per_mtok = 0.5
price_output_per_mtok = 2.0

[wvs]
prompts_per_language = 5
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _offline_ground_truth(monkeypatch):
    # The analysis stage tries the published tables: a closed local port makes it go offline at once.
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{_closed_port()}")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _calls_in_store(store_path: Path) -> dict[tuple[str, str], int]:
    with RunStore(store_path) as store:
        rows = store.conn.execute(
            "SELECT r.stage, c.model_name, COUNT(*) FROM run_requests r JOIN calls c ON c.key = r.key "
            "GROUP BY r.stage, c.model_name"
        ).fetchall()
    return {(stage, model): n for stage, model, n in rows}


def test_dry_run_estimate_equals_the_calls_a_run_makes(tmp_path, capsys):
    experiment = _write(tmp_path, EXPERIMENT)
    estimate = run_experiment(experiment, dry_run=True).estimate
    planned = {(r["stage"], r["model"]): r["calls"] for r in estimate.iter_rows(named=True)}
    assert planned == {("generate", "gen-a"): 10, ("generate", "gen-b"): 10, ("judge", "judge-a"): 20}

    result = run_experiment(experiment, show_progress=False)
    kept = result.results["parse"].kept
    assert kept == 20, result.results["parse"]  # every response kept: the judge's upper bound is then exact
    assert _calls_in_store(tmp_path / "runs" / "counted.sqlite") == planned

    # What was spent, per stage and model: in the run's summary, `culturalign runs` and the report.
    usage = result.summary
    assert set(usage.columns) >= {"stage", "model", "input_tokens", "output_tokens", "cost_usd"}
    rows = {(r["stage"], r["model"]): r for r in usage.iter_rows(named=True)}
    gen_a = rows[("generate", "gen-a")]
    assert gen_a["input_tokens"] > 0 and gen_a["output_tokens"] > 0
    assert gen_a["cost_usd"] == pytest.approx((gen_a["input_tokens"] * 1.0 + gen_a["output_tokens"] * 4.0) / 1e6)
    assert rows[("generate", "gen-b")]["cost_usd"] is None  # no prices set
    judge = rows[("judge", "judge-a")]
    assert judge["cost_usd"] == pytest.approx((judge["input_tokens"] * 0.5 + judge["output_tokens"] * 2.0) / 1e6)
    total = gen_a["cost_usd"] + judge["cost_usd"]

    code, out, _ = run_cli(["runs", str(tmp_path / "runs" / "counted.sqlite")], capsys)
    assert code == 0 and "cost USD" in out and f"{total:,.4f}" in out
    report = (tmp_path / "runs" / "counted" / "report" / "report.html").read_text(encoding="utf-8")
    assert "Calls, tokens and cost" in report and f"${total:,.4f}" in report

    # Everything answered: a second dry run counts every call, generation and judging, as cached.
    again = run_experiment(experiment, dry_run=True).estimate
    assert again["calls"].sum() == 0
    assert {(r["stage"], r["model"]): r["cached"] for r in again.iter_rows(named=True)} == planned


def test_a_million_calls_are_counted_without_building_them(tmp_path, monkeypatch):
    import culturalign.probes.wvs.generate as generate

    built = {"requests": 0}
    original = generate._request

    def counting(*args, **kwargs):
        built["requests"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(generate, "_request", counting)
    big = (
        EXPERIMENT.replace("prompts_per_language = 5", "prompts_per_language = 100000")
        .replace('languages = ["en", "da"]', 'languages = ["en", "da", "nl", "pt"]')
        .replace("[[judges]]", '[[models]]\nname = "gen-c"\nbackend = "mock"\nmodel = "other"\n\n[[judges]]')
    )
    estimate = run_experiment(_write(tmp_path, big), dry_run=True).estimate
    planned = {(r["stage"], r["model"]): r["calls"] for r in estimate.iter_rows(named=True)}
    assert planned == {
        ("generate", "gen-a"): 400_000,
        ("generate", "gen-b"): 400_000,
        ("generate", "gen-c"): 400_000,
        ("judge", "judge-a"): 1_200_000,
    }
    assert built["requests"] < 1000  # a sample to measure prompt lengths, not the plan
    assert estimate.filter(pl.col("model") == "gen-a")["cost_usd_est"][0] > 0


@pytest.mark.parametrize("limit", [None, 37, 1])
def test_arithmetic_count_agrees_with_the_built_plan(tmp_path, monkeypatch, limit):
    import culturalign.probes.wvs.counts as counts

    experiment = _write(tmp_path, EXPERIMENT.replace("prompts_per_language = 5", "prompts_per_language = 30"))
    exact = run_experiment(experiment, dry_run=True, limit=limit).estimate
    monkeypatch.setattr(counts, "EXACT_UP_TO", 0)
    monkeypatch.setattr(counts, "SAMPLE_PROMPTS", 6)
    counted = run_experiment(experiment, dry_run=True, limit=limit).estimate
    assert exact.select("stage", "model", "calls").equals(counted.select("stage", "model", "calls"))
    assert counted["output_tokens_max"].to_list() == exact["output_tokens_max"].to_list()
    for measured, built in zip(counted["input_tokens_est"], exact["input_tokens_est"], strict=True):
        assert measured == pytest.approx(built, rel=0.25)


def test_vsm_dry_run_counts_translation_and_generation_as_made(tmp_path, shared_data):
    from test_vsm_run import _experiment as vsm_experiment

    experiment = vsm_experiment(tmp_path, shared_data, rounds=0)
    planned = run_experiment(experiment, dry_run=True).estimate
    result = run_experiment(experiment, show_progress=False)
    made = _calls_in_store(tmp_path / "runs" / "vsm.sqlite")
    assert {(r["stage"], r["model"]): r["calls"] for r in planned.iter_rows(named=True)} == made
    assert made[("generate", "mock-cn")] == 4 * 3 * 24 * 3 and ("translate", "tr") in made
    assert result.run_id


def test_statements_dry_run_counts_every_labelling_and_evaluation_call(tmp_path, shared_data):
    from test_statements import _mock_experiment

    experiment = _mock_experiment(tmp_path, shared_data / "hofstede" / "6-dimensions-for-website-2015-08-16.csv")
    text = experiment.read_text(encoding="utf-8").replace("max_statements = 25", "max_statements = 4")
    experiment.write_text(text.replace("evaluation_samples = 3", "evaluation_samples = 2"), encoding="utf-8")
    planned = run_experiment(experiment, dry_run=True).estimate
    counted = {(r["stage"], r["model"]): r["calls"] for r in planned.iter_rows(named=True)}
    run_experiment(experiment, show_progress=False)
    made = _calls_in_store(tmp_path / "runs" / "s.sqlite")
    # relevance: 4 statements x 6 dimensions x 2 languages x 5 samples (the default), per judge; exact
    assert counted[("relevance", "judge-a")] == made[("relevance", "judge-a")] == 4 * 6 * 2 * 5
    for (stage, model), n in made.items():
        assert counted[(stage, model)] >= n  # polarity and evaluation are upper bounds, never short
    assert counted[("evaluate", "us-model")] == 4 * 2 * 2  # every statement, 2 languages, 2 samples
    assert set(made) <= set(counted)


def test_vsm_arithmetic_count_equals_the_built_plan(tmp_path, shared_data, monkeypatch):
    import culturalign.probes.vsm.counts as vsm_counts
    from test_vsm_run import _experiment as vsm_experiment

    experiment = vsm_experiment(tmp_path, shared_data, rounds=0)
    exact = run_experiment(experiment, dry_run=True).estimate
    monkeypatch.setattr(vsm_counts, "EXACT_UP_TO", 0)
    counted = run_experiment(experiment, dry_run=True).estimate
    columns = ["stage", "model", "requests", "calls", "input_tokens_est", "output_tokens_max"]
    assert counted.select(columns).equals(exact.select(columns))


def test_vsm_arithmetic_count_asks_a_scored_model_once(tmp_path, shared_data, monkeypatch):
    import culturalign.probes.vsm.counts as vsm_counts
    from test_vsm_run import _experiment as vsm_experiment

    experiment = vsm_experiment(tmp_path, shared_data, rounds=0)
    text = experiment.read_text(encoding="utf-8")
    experiment.write_text(text.replace("[vsm]", '[vsm]\nanswer_modes = { mock-cn = "scored" }', 1), encoding="utf-8")
    exact = run_experiment(experiment, dry_run=True).estimate
    monkeypatch.setattr(vsm_counts, "EXACT_UP_TO", 0)
    counted = run_experiment(experiment, dry_run=True).estimate
    columns = ["stage", "model", "requests", "calls"]
    assert counted.select(columns).equals(exact.select(columns))
    generate = {r["model"]: r["requests"] for r in counted.filter(pl.col("stage") == "generate").iter_rows(named=True)}
    assert generate["mock-cn"] * 3 == generate["gemma-3-270m"]
