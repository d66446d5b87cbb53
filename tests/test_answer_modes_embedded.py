"""The embedded model (Gemma 3 270M through llama-cpp-python) in the answer modes that make a
base model readable: `constrained` (a grammar) and `scored` (option log-probabilities computed
locally) answer every item of the fixture VSM instrument with a valid option."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

TABLE = "6-dimensions-for-website-2015-08-16.csv"


@pytest.fixture
def shared_data(vsm_items: Path, hofstede_table: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two published files these tests read, linked in the shared layout: found in the shared
    folder or the user cache (conftest), else the test is skipped naming the fetch command."""
    folder = tmp_path_factory.mktemp("published")
    for link, target in (("vsm2013/hofstede_test.csv", vsm_items), (f"hofstede/{TABLE}", hofstede_table)):
        (folder / link).parent.mkdir(parents=True, exist_ok=True)
        (folder / link).symlink_to(target)
    return folder


@pytest.mark.slow
def test_embedded_constrained_and_scored_answer_every_item(tmp_path: Path, shared_data: Path) -> None:
    from culturalign.run import run_experiment

    experiment = tmp_path / "vsm.toml"
    experiment.write_text(
        f"""
probe = "vsm"
name = "embedded-modes"
languages = ["en"]
store = "runs/s.sqlite"
output = "runs/out"

[[models]]
name = "gemma-constrained"
backend = "llamacpp"
prompt_style = "completion"
max_concurrency = 1

[[models]]
name = "gemma-scored"
backend = "llamacpp"
prompt_style = "completion"
max_concurrency = 1

[vsm]
countries = ["japan"]
repeats = 1
temperature = 0.0
bootstrap_rounds = 0
answer_mode = "constrained"
answer_modes = {{ gemma-scored = "scored" }}
instrument = ["{(shared_data / "vsm2013" / "hofstede_test.csv").as_posix()}"]
scores = "{(shared_data / "hofstede" / TABLE).as_posix()}"
""",
        encoding="utf-8",
    )
    result = run_experiment(experiment, show_progress=False)
    assert result.results["generate"].failed == 0
    answers = pl.read_csv(result.output_dir / "analysis" / "answers.csv")
    for model, mode in (("gemma-constrained", "constrained"), ("gemma-scored", "scored")):
        mine = answers.filter(pl.col("model") == model)
        assert sorted(mine["item"].to_list()) == list(range(1, 25)), model
        assert (mine["answer_mode"] == mode).all()
        assert (mine["status"] == "ok").all(), mine.filter(pl.col("status") != "ok")
        assert mine["choice"].is_between(1, 5).all()
    constrained = answers.filter(pl.col("model") == "gemma-constrained")
    assert constrained["response"].str.strip_chars().is_in(["1", "2", "3", "4", "5"]).all()
    scored = answers.filter(pl.col("model") == "gemma-scored")
    for text in scored["probabilities"].to_list():
        probs = json.loads(text)
        assert sorted(probs) == ["1", "2", "3", "4", "5"]
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert scored["value"].is_between(1, 5).all()
    assert scored["entropy_bits"].is_between(0, 2.33).all()  # log2(5) = 2.32 at most
