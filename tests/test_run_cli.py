"""`culturalign run`, `runs` and `runs export` end to end with the mock backend, and bad experiment files."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import exit_code
from culturalign.config import load_experiment
from culturalign.run import run_experiment
from culturalign.store import RunStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = PROJECT_ROOT / "examples" / "quickstart.toml"

MOCK_EXPERIMENT = """
probe = "wvs"
name = "cli-test"
seed = 5
languages = ["da", "en", "nl", "pt"]
store = "runs/cli-test.sqlite"
output = "runs/cli-test"

[[models]]
name = "mock-chat"
family = "mock"
backend = "mock"

[[models]]
name = "mock-base"
family = "mock"
backend = "mock"
prompt_style = "completion"

[[judges]]
name = "mock-judge"
backend = "mock"

[wvs]
prompts_per_language = 40
"""


@pytest.fixture(autouse=True)
def _published_tables_from_loopback(published_ground_truth):
    """The analysis stage fetches the published tables: from 127.0.0.1 when present, else offline."""


def _write(tmp_path: Path, text: str, name: str = "experiment.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_run_end_to_end_and_a_rerun_would_ask_nothing(tmp_path, capsys):
    experiment = _write(tmp_path, MOCK_EXPERIMENT)
    assert exit_code("run", str(experiment), "--no-progress", "--no-report") == 0
    out = capsys.readouterr().out
    assert "Responses:" in out and "kept of 320" in out
    # Asked for no report, the run draws no figure: the analysis is there, the report is not.
    assert (tmp_path / "runs" / "cli-test" / "analysis" / "manifest.json").is_file()
    assert not (tmp_path / "runs" / "cli-test" / "report").exists() and "Report:" not in out

    store_path = tmp_path / "runs" / "cli-test.sqlite"
    with RunStore(store_path) as store:
        (info,) = store.runs()
        generated = store.requests_with_meta(info.run_id, "generate")
        parsed = store.results(info.run_id, "parse")
    assert generated.height == 40 * 4 * 2
    assert generated["response"].null_count() == 0
    assert sorted(set(generated["language"])) == ["da", "en", "nl", "pt"]
    assert parsed.height == generated.height
    assert set(parsed.columns) >= {"kept", "reason", "response_language", "summaries", "n_summaries"}
    # The mock writes its lists from the prompt's own words, so each is in the prompt's language.
    joined = generated.select("key", "language").join(parsed, on="key")
    assert (joined["response_language"] == joined["language"]).mean() >= 0.9

    # A rerun would ask nothing: every generation request is answered in the store.
    planned = run_experiment(experiment, dry_run=True).estimate
    generation = planned.filter(pl.col("model").is_in(["mock-chat", "mock-base"]))
    assert generation["cached"].sum() == 320 and generation["calls"].sum() == 0


def _front_half_probe() -> str:
    """The wvs probe cut after parsing: tests of this part need no judge, analysis or report."""
    from culturalign.probes.registry import Probe, register_probe
    from culturalign.probes.wvs.probe import PROBE

    register_probe(Probe("wvs-front", "generate and parse only", PROBE.settings_model, PROBE.stages[:2], PROBE.plan))
    return "wvs-front"


def test_limit_and_runs_listing_and_export(tmp_path, capsys):
    probe = _front_half_probe()
    text = MOCK_EXPERIMENT.replace('probe = "wvs"', f'probe = "{probe}"').replace("[wvs]", f"[{probe}]")
    experiment = _write(tmp_path, text)
    result = run_experiment(experiment, limit=6, show_progress=False)
    assert result.stages == ["generate", "parse"]
    assert result.results["generate"].total == 6 and result.results["parse"].parsed == 6
    store_path = tmp_path / "runs" / "cli-test.sqlite"

    assert exit_code("runs", "list", str(store_path)) == 0
    assert result.run_id in capsys.readouterr().out
    assert exit_code("runs", str(store_path)) == 0  # the form from before the subcommands
    assert result.run_id in capsys.readouterr().out
    assert exit_code("runs", "show", str(store_path), "--run", result.run_id) == 0
    shown = capsys.readouterr().out
    assert f"Run {result.run_id}" in shown and "Responses: " in shown  # the stage table and the parse summary
    assert exit_code("runs", "show", str(store_path), "--run", "nope") == 2
    assert exit_code("runs", "export", str(store_path), "--run", result.run_id) == 2  # -o is required
    exported = tmp_path / "calls.parquet"
    assert exit_code("runs", "export", str(store_path), "--run", result.run_id, "-o", str(exported)) == 0
    table = pl.read_parquet(exported)
    assert table.height == 6 and set(table["stage"]) == {"generate"}
    assert table["parse_kept"].null_count() == 0
    assert exit_code("runs", "export", str(store_path), "--run", "nope", "-o", str(tmp_path / "x.parquet")) == 2
    assert not (tmp_path / "x.parquet").exists()

    # Rerunning resumes the same run and asks nothing already answered; a larger limit asks only the rest.
    again = run_experiment(experiment, limit=6, show_progress=False)
    assert again.run_id == result.run_id
    assert again.results["generate"].asked == 0 and again.results["generate"].cached == 6
    more = run_experiment(experiment, limit=10, show_progress=False)
    assert more.run_id == result.run_id
    assert more.results["generate"].asked == 4 and more.results["generate"].cached == 6


def test_dry_run_counts_and_prices_without_asking(tmp_path, capsys):
    priced = MOCK_EXPERIMENT.replace(
        'name = "mock-chat"', 'name = "mock-chat"\nprice_input_per_mtok = 1.0\nprice_output_per_mtok = 2.0'
    )
    experiment = _write(tmp_path, priced)
    assert exit_code("run", str(experiment), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Dry run" in out and "Estimated cost: $" in out
    assert not (tmp_path / "runs").exists()
    result = run_experiment(experiment, dry_run=True)
    rows = {row["model"]: row for row in result.estimate.iter_rows(named=True)}
    assert rows["mock-chat"]["calls"] == 160 and rows["mock-base"]["calls"] == 160
    assert rows["mock-chat"]["cost_usd_est"] > 0 and rows["mock-base"]["cost_usd_est"] is None
    assert rows["mock-chat"]["output_tokens_max"] == 160 * 1024  # max_tokens bounds the output
    assert rows["mock-judge"]["calls"] == 320  # one judge call per response, at most
    assert result.estimated_cost_usd == pytest.approx(rows["mock-chat"]["cost_usd_est"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BAD_FILES = {
    "unknown backend": (
        MOCK_EXPERIMENT.replace('backend = "mock"\nprompt_style', 'backend = "nosuch"\nprompt_style'),
        "models[1].backend",
    ),
    "unknown language": (MOCK_EXPERIMENT.replace('"pt"]', '"xx"]'), "languages"),
    "missing key variable": (
        MOCK_EXPERIMENT.replace(
            'name = "mock-judge"', 'name = "mock-judge"\napi_key_env = "CULTURALIGN_TEST_NO_SUCH_KEY"'
        ),
        "judges[0].api_key_env",
    ),
    "unknown field": (
        MOCK_EXPERIMENT.replace("prompts_per_language = 40", "prompts_per_langauge = 40"),
        "prompts_per_langauge",
    ),
    "bad toml": (MOCK_EXPERIMENT.replace("seed = 5", "seed = = 5"), "not valid TOML"),
    "bad limit": (MOCK_EXPERIMENT.replace("[wvs]", "limit = -3\n[wvs]"), "limit"),
    "unknown item": (MOCK_EXPERIMENT.replace("prompts_per_language = 40", 'items = ["x999"]'), "unknown item"),
    "untranslated language": (MOCK_EXPERIMENT.replace('"pt"]', '"fi"]'), "no fi texts for item c001_01"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_experiment_files_exit_2_with_one_line_and_start_nothing(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CULTURALIGN_TEST_NO_SUCH_KEY", raising=False)
    text, expected = BAD_FILES[case]
    experiment = _write(tmp_path, text)
    assert exit_code("run", str(experiment), "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert expected in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_unreachable_server_stops_before_the_run(tmp_path, capsys):
    text = MOCK_EXPERIMENT.replace(
        'name = "mock-chat"\nfamily = "mock"\nbackend = "mock"',
        f'name = "remote"\nbackend = "openai"\nbase_url = "http://127.0.0.1:{_closed_port()}/v1"\ntimeout_s = 5',
    )
    experiment = _write(tmp_path, text)
    assert exit_code("run", str(experiment), "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert "models[0]" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_missing_experiment_file_is_exit_2(tmp_path, capsys):
    assert exit_code("run", str(tmp_path / "nothing.toml")) == 2
    assert "not found" in capsys.readouterr().err


def test_quickstart_is_the_embedded_base_model_in_four_languages():
    data = tomllib.loads(QUICKSTART.read_text(encoding="utf-8"))
    assert data["languages"] == ["da", "en", "nl", "pt"]
    (model,) = data["models"]
    assert model["backend"] == "llamacpp" and model["prompt_style"] == "completion"
    assert "base model" in QUICKSTART.read_text(encoding="utf-8").lower()
    # Small enough to finish in minutes, with enough items per language for a rank correlation.
    assert data["wvs"]["prompts_per_language"] * len(data["languages"]) <= 60
    assert len(data["wvs"]["items"]) >= 3


@pytest.mark.slow
def test_quickstart_runs_with_the_embedded_model(tmp_path):
    """The real quickstart, cut to a few requests: the embedded model answers, the parser reads it."""
    text = QUICKSTART.read_text(encoding="utf-8")
    text = text.replace('store = "../culturalign-runs/quickstart.sqlite"', 'store = "q.sqlite"')
    text = text.replace('output = "../culturalign-runs/quickstart"', 'output = "q-out"')
    # Shorter answers, and one thread (llama.cpp threads stall each other on a busy machine).
    text = text.replace("max_tokens = 200", "max_tokens = 96")
    text = text.replace("max_concurrency = 1\n", "max_concurrency = 1\noptions = { n_threads = 1 }\n")
    assert "max_tokens = 96" in text and text.count("n_threads = 1") == 1
    experiment = _write(tmp_path, text, "quickstart.toml")
    result = run_experiment(experiment, limit=3, show_progress=False)
    assert result.results["generate"].total == 3 and result.results["generate"].failed == 0
    with RunStore(tmp_path / "q.sqlite") as store:
        parsed = store.results(result.run_id, "parse")
    assert parsed.height == 3
    # A 270M base model often wanders; what matters is that every response got a verdict.
    assert parsed["reason"].drop_nulls().is_in(["not_a_list", "too_few_summaries", "wrong_language"]).all()
    assert [len(s) for s in parsed["summaries"].to_list()] == parsed["n_summaries"].to_list()
    # The quickstart ends in a report, however few responses survive.
    assert result.stages == ["generate", "parse", "judge", "analyze", "report"]
    assert result.report_path is not None and result.report_path.exists()


def test_stage_results_are_typed_stored_and_read_back(tmp_path):
    from culturalign.probes.registry import CallCounts, ParseCounts, RunContext

    probe = _front_half_probe()
    text = MOCK_EXPERIMENT.replace('probe = "wvs"', f'probe = "{probe}"').replace("[wvs]", f"[{probe}]")
    experiment = load_experiment(_write(tmp_path, text))
    result = run_experiment(experiment, limit=4, show_progress=False)
    assert isinstance(result.results["generate"], CallCounts) and isinstance(result.results["parse"], ParseCounts)
    with RunStore(experiment.store_path) as store:
        # A later reader (another process, a report made next week) sees what the run saw.
        later = RunContext(experiment=experiment, store=store, run_id=result.run_id, output_dir=tmp_path)
        assert later.result("generate", CallCounts) == result.results["generate"]
        assert later.result("parse", ParseCounts) == result.results["parse"]
        assert later.result("judge", CallCounts) is None
        # The summaries are not per-request results: an export does not see them.
        assert store.result_stages(result.run_id) == ["parse"]
        assert store.run(result.run_id).status == "done"
