"""A small REAL statements run through the embedded model (Gemma 3 270M, llamacpp backend,
completion-style prompts, JSON answers through a grammar): labelling, evaluation, analysis
and report on two statements. The base model's answers mean nothing; the test checks that
real model text flows through every stage and is read, not that it is sensible."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

EXPERIMENT = """
probe = "statements"
name = "embedded-statements"
seed = 1
languages = ["en"]
store = "runs/s.sqlite"
output = "runs/out"

[[models]]
name = "gemma-3-270m"
backend = "llamacpp"
prompt_style = "completion"
origin = "US"
max_concurrency = 1

[[judges]]
name = "gemma-3-270m-judge"
backend = "llamacpp"
prompt_style = "completion"
max_concurrency = 1

[statements]
max_statements = 2
dimensions = ["lto"]
structured_output = true
answer_mode = "constrained"
labelling_samples = 1
labelling = {{ temperature = 0.0, max_tokens = 24 }}
evaluation_samples = 2
evaluation = {{ temperature = 1.0, max_tokens = 80, seed = 1 }}
argument_chars = 24
bootstrap_rounds = 100
scores = "{scores}"
"""


@pytest.mark.slow
def test_embedded_model_runs_the_whole_probe(tmp_path: Path, shared_data: Path) -> None:
    from culturalign.probes.statements.answers import read_stance
    from culturalign.probes.statements.statements import load_frames
    from culturalign.run import run_experiment
    from culturalign.store.db import RunStore

    scores = (shared_data / "hofstede" / "6-dimensions-for-website-2015-08-16.csv").as_posix()
    path = tmp_path / "embedded.toml"
    path.write_text(EXPERIMENT.format(scores=scores), encoding="utf-8")
    result = run_experiment(path, show_progress=False)
    assert result.stages == ["translate", "relevance", "polarity", "evaluate", "analyze", "report"]
    analysis = tmp_path / "runs" / "out" / "analysis"
    votes = pl.read_csv(analysis / "label_votes.csv", schema_overrides={"answer": pl.Utf8})
    relevance = votes.filter(pl.col("task") == "relevance")
    assert relevance.height == 2  # 2 statements x 1 dimension x 1 judge x 1 language
    # The grammar forces a readable yes/no: a failure here means the model's real text was misread.
    assert relevance["answer"].is_in(["yes", "no"]).all(), relevance
    with RunStore(tmp_path / "runs" / "s.sqlite") as store:
        calls = store.export_calls(result.run_id)
    assert calls.height >= 2 and calls["error"].is_null().all()
    assert (calls["output_tokens"] > 0).all()
    polarity = votes.filter(pl.col("task") == "polarity")
    assert polarity["answer"].drop_nulls().is_in(["-2", "-1", "1", "2"]).all()
    stances = pl.read_csv(analysis / "stances.csv")
    evaluated = calls.filter(pl.col("stage") == "evaluate")
    assert evaluated.height == 2 * stances.height
    keywords = load_frames().keywords["en"]
    for text in evaluated["response"].to_list():
        assert read_stance(text, keywords)[0] in ("agree", "disagree"), text
    manifest = json.loads((analysis / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["probe"] == "statements" and manifest["models"] == ["gemma-3-270m"]
    assert (tmp_path / "runs" / "out" / "report" / "report.html").is_file()
