"""The vsm probe end to end: `culturalign run` on a copy of examples/vsm.toml with the mock backend,
into the analysis tables and the report; bad experiment files; one small real run (slow)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import exit_code
from culturalign.run import run_experiment

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "examples" / "vsm.toml"


@pytest.fixture
def vsm_data(vsm_items: Path, hofstede_table: Path) -> tuple[Path, Path]:
    """The instrument items and the country scores (published data: skipped when absent)."""
    return vsm_items, hofstede_table


def _unread(tmp_path: Path) -> tuple[Path, Path]:
    """Inputs a bad experiment never gets to read: these tests need no published data."""
    items, table = tmp_path / "never-read-items.csv", tmp_path / "never-read-scores.csv"
    items.write_text("not an instrument\n", encoding="utf-8")
    table.write_text("not a score table\n", encoding="utf-8")
    return items, table


def _experiment(tmp_path: Path, data: tuple[Path, Path], *, backend_options: str = 'options = { mode = "choice" }',
                languages: str = '["en", "zh", "de"]', countries: str = '["united_states", "china", "germany", "egypt"]',
                extra_model: bool = True, rounds: int = 50) -> Path:  # fmt: skip
    items, table = data
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('backend = "llamacpp"', f'backend = "mock"\n{backend_options}')
    text = text.replace('languages = ["en"]', f"languages = {languages}")
    text = re.sub(r'countries = \["united_states", "china", "germany"\]', f"countries = {countries}", text)
    text = text.replace('# instrument = ["my', f'instrument = ["{items}"]\n# x = ["my')
    text = text.replace(
        "# translator = {", 'translator = { name = "tr", backend = "mock", options = { mode = "echo" } }\n# t = {'
    )
    text = text.replace('scores = "published"', f'scores = "{table}"')
    text = text.replace("bootstrap_rounds = 1000", f"bootstrap_rounds = {rounds}")
    # every test keeps its run inside its own folder
    text = text.replace('"../culturalign-runs/vsm-example.sqlite"', '"runs/vsm.sqlite"')
    text = text.replace('"../culturalign-runs/vsm-example"', '"runs/vsm"')
    if extra_model:
        text = text.replace("[vsm]", '[[models]]\nname = "mock-cn"\nbackend = "mock"\norigin = "CN"\n'
                                     'options = { mode = "choice", seed = 7 }\n\n[vsm]')  # fmt: skip
    path = tmp_path / "vsm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_runs_end_to_end_with_the_mock_backend(tmp_path, vsm_data):
    experiment = _experiment(tmp_path, vsm_data)
    assert exit_code("run", str(experiment), "--no-progress") == 0
    analysis = tmp_path / "runs" / "vsm" / "analysis"
    manifest = json.loads((analysis / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["probe"] == "vsm" and manifest["languages"] == ["en", "zh", "de"]
    n_calls = 2 * 4 * 3 * 24 * 3
    answers = pl.read_parquet(analysis / "answers.parquet")
    assert answers.height == n_calls and answers["choice"].is_between(1, 5).all()

    dr = pl.read_parquet(analysis / "deviation_ratio.parquet")
    assert set(dr["condition"]) == {"aligned", "english", "chinese", "average", "other"}
    # Egypt's language (ar) is not in the run: it has no aligned row, but English and Chinese ones
    assert dr.filter((pl.col("country") == "egypt") & (pl.col("condition") == "aligned")).height == 0
    assert dr.filter(pl.col("country") == "egypt").height == 2 * 4
    finite = dr.filter(pl.col("mean_difference") > 0)
    assert (finite["dr"] - finite["gt_deviation"] / finite["mean_difference"]).abs().max() < 1e-9
    assert (dr["n_trials"] == 3).all()

    ranking = pl.read_parquet(analysis / "country_ranking.parquet")
    for condition in ("english", "average"):
        ranks = ranking.filter(pl.col("condition") == condition).sort("dr", descending=True)["rank"].to_list()
        assert ranks == [1, 2, 3, 4]
    origin = pl.read_parquet(analysis / "origin_comparison.parquet")
    assert {"US", "CN", "US-CN"} <= set(origin["group"])
    agreement = pl.read_parquet(analysis / "sensitivity_agreement.parquet")
    assert set(agreement["scheme"]) == {"C=0", "C=50", "minmax"}
    gt = pl.read_parquet(analysis / "ground_truth.parquet")
    assert gt.filter((pl.col("country") == "egypt") & (pl.col("dimension") == "pdi"))["source"].item() == "ARA"

    report = (tmp_path / "runs" / "vsm" / "report" / "report.html").read_text(encoding="utf-8")
    for title in ("Rankings by deviation ratio", "Dimension scores", "Sensitivity to the constant C"):
        assert title in report


def test_rerun_asks_nothing_new(tmp_path, vsm_data):
    experiment = _experiment(tmp_path, vsm_data, languages='["en"]', countries='["japan"]', extra_model=False, rounds=0)
    first = run_experiment(experiment, show_progress=False, report=False)
    assert first.results["generate"].asked == 24 * 3
    again = run_experiment(experiment, show_progress=False, report=False)
    assert again.results["generate"].asked == 0 and again.results["generate"].cached == 24 * 3


def test_failed_calls_are_counted_and_never_become_answers(tmp_path, vsm_data):
    experiment = _experiment(tmp_path, vsm_data, backend_options='options = { mode = "choice", fail_rate = 0.3 }',
                             languages='["en"]', countries='["japan", "spain"]', extra_model=False, rounds=0)  # fmt: skip
    result = run_experiment(experiment, show_progress=False, report=False)
    failed = result.results["generate"].failed
    assert failed > 0
    analysis = result.output_dir / "analysis"
    failures = pl.read_parquet(analysis / "failures.parquet")
    assert failures["call_error"].sum() == failed and failures["n"].sum() == 2 * 24 * 3
    answers = pl.read_parquet(analysis / "answers.parquet")
    assert answers["choice"].null_count() == failed


def test_translations_go_through_the_store_and_a_reviewed_one_wins(tmp_path, vsm_data):
    experiment = _experiment(
        tmp_path, vsm_data, languages='["de"]', countries='["germany"]', extra_model=False, rounds=0
    )
    first = run_experiment(experiment, show_progress=False, report=False)
    texts = 24 * 6  # each item's question and its five option labels
    assert first.results["translate"].languages == ["de", "en"]
    out = tmp_path / "review.csv"
    assert exit_code("translations", "export", "--experiment", str(experiment), "-o", str(out)) == 0
    review = pl.read_csv(out)
    assert review.height == texts and set(review["origin"]) == {"machine"} and set(review["probe"]) == {"vsm"}
    fixed = review.with_columns(
        pl.when(pl.col("key") == "item01").then(pl.lit("Geprüfte Frage eins?")).otherwise(pl.col("text")).alias("text")
    )
    fixed.write_csv(tmp_path / "fixed.csv")
    assert exit_code("translations", "import", str(tmp_path / "fixed.csv"), "--experiment", str(experiment)) == 0
    again = run_experiment(experiment, show_progress=False, report=False)
    from culturalign.store.db import RunStore

    # Option labels repeat across items: one request per distinct text; the reviewed one is not asked.
    assert first.results["translate"].total == first.results["translate"].asked == review["source"].n_unique()
    assert again.results["translate"].total == review["source"].n_unique() - 1
    assert again.results["translate"].asked == 0
    with RunStore(tmp_path / "runs" / "vsm.sqlite") as store:
        asked = store.requests_with_meta(again.run_id, "generate")
    # The reopened run holds both passes' prompts; the second asked item 1 in the reviewed words.
    item01 = [json.loads(m)[-1]["content"] for m in asked.filter(pl.col("item") == 1)["messages_json"]]
    assert any("Geprüfte Frage eins?" in m for m in item01) and again.results["generate"].asked > 0


def test_relative_instrument_path_is_read_beside_the_experiment(tmp_path, vsm_data):
    experiment = _experiment(tmp_path, vsm_data, languages='["en"]', countries='["japan"]', extra_model=False, rounds=0)
    lines = ["item,text,option_1,option_2,option_3,option_4,option_5"]
    lines += [f'{i},"Our own stand-in question {i}?",one,two,three,four,five' for i in range(1, 25)]
    (tmp_path / "mine.csv").write_text("\n".join(lines), encoding="utf-8")
    text = re.sub(
        r'instrument = \[".*?"\]', 'instrument = ["mine.csv"]', experiment.read_text(encoding="utf-8"), count=1
    )
    experiment.write_text(text, encoding="utf-8")
    result = run_experiment(experiment, show_progress=False, report=False)
    answers = pl.read_parquet(result.output_dir / "analysis" / "answers.parquet")
    assert answers.height == 24 * 3
    from culturalign.store import RunStore

    with RunStore(result.store_path) as store:
        prompts = store.requests(result.run_id, "generate")["messages_json"].to_list()
    assert all("Our own stand-in question" in p for p in prompts)


@pytest.mark.parametrize(
    ("languages", "countries", "needle"),
    [
        ('["xx"]', '["japan"]', "unknown language"),
        ('["en"]', '["atlantis"]', "unknown country"),
        ('["en"]', '["japan", "Japan"]', "country listed twice"),
    ],
)
def test_bad_experiment_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, languages, countries, needle):
    path = _experiment(tmp_path, _unread(tmp_path), languages=languages, countries=countries, extra_model=False)
    assert exit_code("run", str(path), "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs" / "vsm" / "analysis").exists()


def test_a_language_without_prompt_frame_is_one_line_exit_2(tmp_path, vsm_data, capsys):
    # found once the instrument has been read, so this one needs the published items
    path = _experiment(tmp_path, vsm_data, languages='["it"]', countries='["japan"]', extra_model=False)
    assert exit_code("run", str(path), "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert "no VSM prompt frame" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs" / "vsm" / "analysis").exists()


def test_zero_repeats_is_rejected(tmp_path, capsys):
    path = _experiment(tmp_path, _unread(tmp_path), languages='["en"]', extra_model=False)
    path.write_text(path.read_text(encoding="utf-8").replace("repeats = 3", "repeats = 0"), encoding="utf-8")
    assert exit_code("run", str(path), "--no-progress") == 2
    assert "repeats" in capsys.readouterr().err


@pytest.mark.slow
def test_small_real_run_through_the_embedded_model(tmp_path, vsm_data):
    """Gemma 3 270M, two countries, English, one repeat: the whole pipeline into the report."""
    experiment = _experiment(tmp_path, vsm_data, backend_options="", languages='["en"]',
                             countries='["united_states", "japan"]', extra_model=False, rounds=20)  # fmt: skip
    text = experiment.read_text(encoding="utf-8").replace('backend = "mock"\n', 'backend = "llamacpp"\n', 1)
    experiment.write_text(
        text.replace("repeats = 3", "repeats = 1").replace("max_tokens = 32", "max_tokens = 8"), encoding="utf-8"
    )
    result = run_experiment(experiment, show_progress=False)
    assert result.results["generate"].total == 2 * 24
    analysis = result.output_dir / "analysis"
    answers = pl.read_parquet(analysis / "answers.parquet")
    assert answers.height == 48 and answers["response"].null_count() == 0
    failures = pl.read_parquet(analysis / "failures.parquet")
    assert failures["n"].sum() == 48
    assert (result.output_dir / "report" / "report.html").is_file()
