"""The statements probe: loading, answer reading, vote aggregation, scoring, the language-effect
test on synthetic data, quality control, and a mock-backend end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from culturalign.errors import ConfigError, DataError
from culturalign.probes.statements.answers import (
    is_relevant,
    most_frequent,
    polarity_median,
    read_polarity,
    read_relevance,
    read_stance,
    stance_sign,
)
from culturalign.probes.statements.labelling import (
    decide_polarity,
    decide_relevance,
    voter_answers,
)
from culturalign.probes.statements.profiles import (
    bootstrap_difference_test,
    dimension_profiles,
    group_view,
    language_effect,
    scale_to_100,
    statement_scores,
    table3_layout,
)
from culturalign.probes.statements.qc import quality_table
from culturalign.probes.statements.statements import load_frames, load_statements

EN = load_frames().keywords["en"]
ZH = load_frames().keywords["zh"]


# -- statement sets and frames -------------------------------------------------------------------
def test_starter_set_is_big_enough_and_the_vote_filter_drops_rows() -> None:
    kept = load_statements(None, min_votes=3)
    everything = load_statements(None, min_votes=0)
    assert kept.height >= 150
    assert everything.height > kept.height
    assert kept["votes"].min() >= 3
    assert kept["statement_id"].is_unique().all()


def test_user_csv_with_a_configurable_threshold(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "id,text,votes,language,text_zh\na,Cats are better than dogs.,5,en,猫比狗好。\n"
        "b,Tea beats coffee.,2,en,\nc,Rain is good.,9,en,\n",
        encoding="utf-8",
    )
    assert load_statements(path, 3)["statement_id"].to_list() == ["a", "c"]
    assert load_statements(path, 1).height == 3
    assert "text_zh" in load_statements(path, 3).columns


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,text\na,x\n", "votes"),
        ("id,text,votes\na,x,many\n", "whole number"),
        ("id,text,votes\na,x,4\na,y,5\n", "repeats the id"),
        ("id,text,votes\na,x,1\n", "at least 3 votes"),
    ],
)
def test_bad_statement_files_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        load_statements(path, 3)
    assert "\n" not in str(caught.value)


def test_frames_cover_english_and_chinese_and_refuse_other_languages() -> None:
    frames = load_frames()
    frames.require(["en", "zh"], ["pdi", "idv", "mas", "uai", "lto", "ivr"])
    prompt = frames.render("polarity", "zh", "测试陈述", "lto")
    assert "测试陈述" in prompt and "长期导向" in prompt
    with pytest.raises(ConfigError, match="no statement prompt frames for language 'fr'"):
        frames.require(["fr"], ["pdi"])


# -- reading answers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "keywords", "expected"),
    [
        ("Yes.", EN, True),
        ("no", EN, False),
        ("It is not relevant here.", EN, False),
        ("I know it matters", EN, None),  # 'no' inside 'know' is not a vote
        ("不相关", ZH, False),
        ("是的，相关", ZH, True),
        ('{"relevant": "no"}', EN, False),
    ],
)
def test_relevance_reading(text: str, keywords, expected) -> None:
    value, failure = read_relevance(text, keywords)
    assert value == expected
    assert (failure is None) == (expected is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2", 2),
        (" -1 because", -1),
        ("\u22122", -2),
        ('{"polarity": 1}', 1),
        ("0", None),
        ("3", None),
        ("somewhat", None),
        ("", None),
    ],
)
def test_polarity_reading_refuses_zero_and_out_of_range(text: str, expected) -> None:
    value, failure = read_polarity(text)
    assert value == expected
    assert (failure is None) == (expected is not None)


@pytest.mark.parametrize(
    ("text", "keywords", "expected"),
    [
        ("For: ... Against: I disagree with the cost.\nFinal answer: agree", EN, "agree"),
        ("I do not agree.", EN, "disagree"),
        ("Final answer: disagree", EN, "disagree"),
        ("支持……反对……\n最终答案：不同意", ZH, "disagree"),
        ("最终答案：同意", ZH, "agree"),
        ('{"arguments_for": "x", "arguments_against": "y", "verdict": "agree"}', EN, "agree"),
        ("Hmm, hard to say.", EN, None),
    ],
)
def test_stance_reading(text: str, keywords, expected) -> None:
    value, failure = read_stance(text, keywords)
    assert value == expected
    assert (failure is None) == (expected is not None)


# -- aggregation -------------------------------------------------------------------------------------
def test_most_frequent_answer_and_ties() -> None:
    assert most_frequent(["agree", "agree", "disagree", None, "disagree", "agree"]) == ("agree", None)
    assert most_frequent(["agree", "disagree"]) == (None, "tie between answers")
    assert most_frequent([None, None]) == (None, "no readable answer")
    assert most_frequent([2, 2, -1]) == (2, None)


def test_relevance_needs_half_of_all_voters_and_failures_never_count_as_yes() -> None:
    assert is_relevant(4, 8, 0.5) is True  # the paper's 4 of 8
    assert is_relevant(3, 8, 0.5) is False
    votes = pl.DataFrame(
        {
            "statement_id": ["s"] * 8 + ["t"] * 8,
            "dimension": ["pdi"] * 16,
            "judge": [f"j{i % 4}" for i in range(16)],
            "language": ["en", "en", "en", "en", "zh", "zh", "zh", "zh"] * 2,
            "answer": [
                "yes",
                "yes",
                "no",
                "no",
                "yes",
                "yes",
                "no",
                "no",  # s: 4 of 8
                "yes",
                "yes",
                "yes",
                None,
                None,
                None,
                None,
                "no",
            ],  # t: 3 of 8, 4 unreadable
            "failure": [None] * 16,
        }
    )
    decided = decide_relevance(votes, n_voters=8, share=0.5).sort("statement_id")
    assert decided["relevant"].to_list() == [True, False]
    assert decided["relevance_failed"].to_list() == [0, 4]


def test_polarity_median_with_even_ties() -> None:
    assert polarity_median([-2, -1, 1, 2, 2]) == 1.0
    assert polarity_median([-1, 1]) == 0.0  # an even split: no direction, not scored
    assert polarity_median([1, 2]) == 1.5
    assert polarity_median([]) is None
    voters = pl.DataFrame(
        {
            "statement_id": ["s", "s", "s", "s"],
            "dimension": ["uai"] * 4,
            "judge": ["a", "b", "c", "d"],
            "language": ["en"] * 4,
            "answer": ["2", "1", None, "1"],
            "failure": [None, None, "no number found", None],
        }
    )
    row = decide_polarity(voters).row(0, named=True)
    assert row["polarity"] == 1.0 and row["polarity_n"] == 3 and row["polarity_failed"] == 1


def test_voter_answer_is_the_most_frequent_over_samples() -> None:
    votes = pl.DataFrame(
        {
            "statement_id": ["s"] * 5,
            "dimension": ["pdi"] * 5,
            "judge": ["a", "a", "a", "b", "b"],
            "language": ["en"] * 5,
            "sample": [0, 1, 2, 0, 1],
            "answer": ["yes", "no", "yes", "yes", "no"],
            "failure": [None] * 5,
        }
    )
    answers = {r["judge"]: r for r in voter_answers(votes).iter_rows(named=True)}
    assert answers["a"]["answer"] == "yes"
    assert answers["b"]["answer"] is None and answers["b"]["failure"] == "tie between answers"


# -- scores and profiles -------------------------------------------------------------------------------
def _stances(rows: list[tuple[str, str, str, str | None]], origin: dict[str, str] | None = None) -> pl.DataFrame:
    origin = origin or {}
    return pl.DataFrame(
        [(m, lang, s, origin.get(m), None, stance) for m, lang, s, stance in rows],
        schema={
            "model": pl.Utf8,
            "language": pl.Utf8,
            "statement_id": pl.Utf8,
            "origin": pl.Utf8,
            "family": pl.Utf8,
            "stance": pl.Utf8,
        },
        orient="row",
    )


def _labels(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"statement_id": pl.Utf8, "dimension": pl.Utf8, "polarity": pl.Float64}, orient="row"
    ).with_columns(pl.lit(True).alias("scored"))


def test_disagreeing_flips_the_sign_and_failures_drop_out() -> None:
    assert stance_sign("agree") == 1 and stance_sign("disagree") == -1
    with pytest.raises(ValueError):
        stance_sign("maybe")
    stances = _stances([("m", "en", "s1", "agree"), ("m", "en", "s2", "disagree"), ("m", "en", "s3", None)])
    labels = _labels([("s1", "pdi", 2.0), ("s2", "pdi", 2.0), ("s2", "idv", -1.0), ("s3", "pdi", 1.0)])
    scores = {
        (r["statement_id"], r["dimension"]): r["score"] for r in statement_scores(stances, labels).iter_rows(named=True)
    }
    assert scores == {("s1", "pdi"): 2.0, ("s2", "pdi"): -2.0, ("s2", "idv"): 1.0}


def test_profiles_mean_interval_and_scaling() -> None:
    stances = _stances([("m", "en", f"s{i}", "agree" if i % 4 else "disagree") for i in range(40)])
    labels = _labels([(f"s{i}", "lto", 1.0) for i in range(40)])
    profile = dimension_profiles(statement_scores(stances, labels), rounds=500, seed=1).row(0, named=True)
    assert profile["mean"] == pytest.approx(0.5)  # 30 agree (+1), 10 disagree (-1)
    assert profile["n_statements"] == 40
    assert profile["ci_low"] < 0.5 < profile["ci_high"]
    assert profile["mean_100"] == pytest.approx(62.5)
    assert scale_to_100(-2.0) == 0.0 and scale_to_100(2.0) == 100.0


def test_group_view_keeps_only_statements_where_the_groups_differ() -> None:
    rows = []
    for i in range(6):
        us, cn = ("agree", "disagree") if i < 3 else ("agree", "agree")  # groups differ on s0..s2 only
        rows += [("us1", "en", f"s{i}", us), ("us2", "en", f"s{i}", us), ("cn1", "en", f"s{i}", cn)]
    stances = _stances(rows, {"us1": "US", "us2": "US", "cn1": "CN"})
    labels = _labels([(f"s{i}", "pdi", 2.0) for i in range(6)])
    groups = {
        r["group"]: r for r in group_view(statement_scores(stances, labels), "origin", 200, 0).iter_rows(named=True)
    }
    assert groups["US"]["n_statements"] == 3 and groups["US"]["mean"] == 2.0
    assert groups["CN"]["n_statements"] == 3 and groups["CN"]["mean"] == -2.0


# -- the language-effect test ------------------------------------------------------------------------------
def _synthetic_differences(rng: np.random.Generator, datasets: int, n: int, shift: float) -> np.ndarray:
    """Score differences (language b - language a) of one model on n statements: labels in
    {-2, -1, 1, 2}; in language a the model agrees at random; in language b it agrees with
    high-end statements `shift` more often (a planted language effect when shift > 0)."""
    polarity = rng.choice([-2, -1, 1, 2], size=(datasets, n))
    sign_a = np.where(rng.random((datasets, n)) < 0.5, 1, -1)
    sign_b = np.where(rng.random((datasets, n)) < 0.5 + shift * np.sign(polarity), 1, -1)
    return polarity * sign_b - polarity * sign_a


def test_bootstrap_language_test_finds_a_planted_effect_and_not_an_absent_one() -> None:
    rng = np.random.default_rng(2026)
    _, p_null, _, _ = bootstrap_difference_test(_synthetic_differences(rng, 200, 80, 0.0), 400, rng)
    _, p_effect, low, high = bootstrap_difference_test(_synthetic_differences(rng, 200, 80, 0.3), 400, rng)
    assert (p_effect < 0.05).mean() >= 0.8
    assert (p_null < 0.05).mean() <= 0.1
    assert (low <= high).all()


def test_bootstrap_test_on_degenerate_differences() -> None:
    rng = np.random.default_rng(0)
    _, p_same, _, _ = bootstrap_difference_test(np.zeros((1, 20)), 200, rng)
    _, p_shift, low, _ = bootstrap_difference_test(np.full((1, 20), 2.0), 200, rng)
    assert p_same[0] == 1.0
    assert p_shift[0] < 0.01 and low[0] == pytest.approx(2.0)


def test_language_effect_table_and_table3_layout() -> None:
    rows = []
    for i in range(60):
        rows += [
            ("m", "en", f"s{i}", "agree"),
            ("m", "zh", f"s{i}", "disagree" if i % 5 else "agree"),
            ("n", "en", f"s{i}", "agree"),
            ("n", "zh", f"s{i}", "agree"),
        ]
    scores = statement_scores(_stances(rows), _labels([(f"s{i}", "uai", 1.0) for i in range(60)]))
    effects = {r["model"]: r for r in language_effect(scores, 500, 3).iter_rows(named=True)}
    assert effects["m"]["significant"] is True and effects["m"]["difference"] == pytest.approx(1.6)
    assert effects["n"]["significant"] is False and effects["n"]["p_value"] == 1.0
    assert effects["m"]["n_statements"] == 60
    table = table3_layout(dimension_profiles(scores, 200, 0), language_effect(scores, 500, 3))
    assert table.columns == ["dimension", "language", "m", "n"]
    assert table.filter(pl.col("language") == "en")["m"][0] == "+1.00*"
    assert not table["n"][0].endswith("*")


# -- quality control --------------------------------------------------------------------------------------
def test_quality_control_table2() -> None:
    labels = pl.DataFrame(
        {
            "statement_id": ["a", "b", "c"],
            "dimension": ["pdi", "pdi", "idv"],
            "relevant": [True, True, False],
            "polarity": [2.0, -1.0, None],
        }
    )
    human = pl.DataFrame(
        {
            "statement_id": ["a", "a", "b", "b", "c"],
            "dimension": ["pdi", "pdi", "pdi", "pdi", "idv"],
            "annotator": ["h1", "h2", "h1", "h2", "h1"],
            "relevant": [True, True, True, False, True],
            "polarity": [2.0, 1.0, -1.0, -2.0, 1.0],
        }
    )
    table = {r["dimension"]: r for r in quality_table(human, labels, rounds=200).iter_rows(named=True)}
    pdi = table["pdi"]
    assert pdi["relevance_precision"] == pytest.approx(0.75) and pdi["n_relevance_judgements"] == 4
    assert pdi["inter_annotator_mae"] == pytest.approx(1.0)  # |2-1| and |-1-(-2)|
    assert pdi["human_vs_llm_mae"] == pytest.approx(0.5)  # medians 1.5 vs 2 and -1.5 vs -1
    assert table["idv"]["relevance_precision"] is None  # c was not kept by the judges
    assert table["all"]["n_statement_pairs"] == 2


def test_qc_command_reports_bad_human_files_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from culturalign.cli.main import app

    human = tmp_path / "human.csv"
    human.write_text("statement_id,dimension,annotator,polarity\na,pdi,h1,7\n", encoding="utf-8")
    labels = tmp_path / "labels.csv"
    labels.write_text("statement_id,dimension,relevant,polarity\na,pdi,true,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["statements", "qc", "--human", str(human), "--labels", str(labels)])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError) and "polarity '7'" in str(result.exception)


# -- end to end on the mock backend ----------------------------------------------------------------------
def _mock_experiment(tmp_path: Path, scores: Path) -> Path:
    path = tmp_path / "statements.toml"
    path.write_text(
        f"""
probe = "statements"
name = "mock-statements"
seed = 5
languages = ["en", "zh"]
store = "runs/s.sqlite"
output = "runs/out"

[[models]]
name = "us-model"
backend = "mock"
origin = "US"
[[models]]
name = "cn-model"
backend = "mock"
origin = "CN"
options = {{ seed = 7 }}

[[judges]]
name = "judge-a"
backend = "mock"
[[judges]]
name = "judge-b"
backend = "mock"
options = {{ seed = 2 }}

[statements]
max_statements = 25
structured_output = true
answer_mode = "constrained"
evaluation_samples = 3
bootstrap_rounds = 200
scores = "{scores.as_posix()}"
native_languages = {{ US = "en", CN = "zh" }}
""",
        encoding="utf-8",
    )
    return path


def test_mock_end_to_end_run_and_resume(tmp_path: Path, shared_data: Path) -> None:
    from typer.testing import CliRunner

    from culturalign.cli.main import app
    from culturalign.run import run_experiment

    experiment = _mock_experiment(tmp_path, shared_data / "hofstede" / "6-dimensions-for-website-2015-08-16.csv")
    result = CliRunner().invoke(app, ["run", str(experiment)])
    assert result.exit_code == 0, result.output
    analysis = tmp_path / "runs" / "out" / "analysis"
    manifest = json.loads((analysis / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["probe"] == "statements" and manifest["statements_kept"] == 25
    labels = pl.read_csv(analysis / "statement_labels.csv")
    assert labels.height == 25 * 6
    assert labels["relevance_voters"].unique().to_list() == [4]  # 2 judges x 2 languages
    kept = labels.filter(pl.col("relevant"))
    assert (kept["relevance_yes"] >= 2).all() and (labels.filter(~pl.col("relevant"))["relevance_yes"] < 2).all()
    votes = pl.read_csv(analysis / "label_votes.csv")
    assert set(votes["judge"].unique().to_list()) == {"judge-a", "judge-b"}
    assert votes.filter(pl.col("task") == "polarity")["answer"].drop_nulls().is_in(["-2", "-1", "1", "2"]).all()
    profiles = pl.read_csv(analysis / "profiles.csv")
    assert set(profiles["language"].unique().to_list()) == {"en", "zh"}
    assert profiles["mean"].is_between(-2, 2).all() and (profiles["ci_low"] <= profiles["ci_high"]).all()
    hofstede = pl.read_csv(analysis / "hofstede.csv")
    usa = hofstede.filter((pl.col("kind") == "country") & (pl.col("name") == "USA") & (pl.col("dimension") == "idv"))
    assert usa["value"].to_list() == [91.0]
    groups = pl.read_csv(analysis / "groups.csv")
    assert {"en", "zh", "native"} >= set(groups["language"].to_list()) and "native" in groups["language"].to_list()
    effects = pl.read_csv(analysis / "language_effect.csv")
    assert effects["p_value"].drop_nulls().is_between(0, 1).all()
    assert (tmp_path / "runs" / "out" / "report" / "report.html").is_file()
    # A second run asks nothing again: every answer is cached in the store.
    again = run_experiment(experiment, show_progress=False, report=False)
    for stage in ("relevance", "polarity", "evaluate"):
        assert again.results[stage].asked == 0, stage
    exported = tmp_path / "labels.csv"
    out = CliRunner().invoke(
        app, ["statements", "export-labels", str(tmp_path / "runs" / "s.sqlite"), "-o", str(exported)]
    )
    assert out.exit_code == 0, out.output
    assert pl.read_csv(exported)["label_set"][0] == labels["label_set"][0]
    # Human quality control written into the analysis folder shows up in the report.
    human = tmp_path / "human.csv"
    kept.select(
        "statement_id",
        "dimension",
        pl.lit("h1").alias("annotator"),
        pl.lit("yes").alias("relevant"),
        pl.lit(1).alias("polarity"),
    ).write_csv(human)
    qc = CliRunner().invoke(
        app, ["statements", "qc", "--human", str(human), "--labels", str(analysis), "-o", str(analysis / "qc.csv")]
    )
    assert qc.exit_code == 0, qc.output
    assert pl.read_csv(analysis / "qc.csv").filter(pl.col("dimension") == "all")["relevance_precision"][0] == 1.0
    from culturalign.reports import build_report

    page = build_report(analysis, tmp_path / "report2").read_text(encoding="utf-8")
    assert "Human quality control" in page and "were not checked against human annotators" not in page


def test_experiment_without_judges_or_labels_is_a_config_error(tmp_path: Path) -> None:
    from culturalign.run import run_experiment

    path = tmp_path / "x.toml"
    path.write_text(
        'probe = "statements"\nname = "x"\nlanguages = ["en"]\nstore = "s.sqlite"\noutput = "o"\n'
        '[[models]]\nname = "m"\nbackend = "mock"\n[statements]\nmax_statements = 2\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="add \\[\\[judges\\]\\]"):
        run_experiment(path, show_progress=False)


def test_unknown_dimension_is_a_config_error(tmp_path: Path) -> None:
    from culturalign.config import load_experiment

    path = tmp_path / "x.toml"
    path.write_text(
        'probe = "statements"\nname = "x"\nlanguages = ["en"]\n[[models]]\nname = "m"\nbackend = "mock"\n'
        '[statements]\ndimensions = ["pdi", "happiness"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unknown dimension"):
        load_experiment(path)


def test_labels_file_and_translator_through_the_store(tmp_path: Path) -> None:
    from culturalign.run import run_experiment
    from culturalign.store.db import RunStore

    (tmp_path / "statements.csv").write_text(
        "id,text,votes,language,text_zh\na,Cities should ban cars.,5,en,城市应当禁止汽车。\n"
        "b,Unpaid internships should be illegal.,8,en,\nc,Zoos should be closed.,4,en,\n",
        encoding="utf-8",
    )
    (tmp_path / "labels.csv").write_text(
        "statement_id,dimension,polarity,relevant\na,uai,1,true\nb,pdi,-2,true\nc,ivr,1,false\n", encoding="utf-8"
    )
    path = tmp_path / "x.toml"
    path.write_text(
        """
probe = "statements"
name = "with-labels"
languages = ["en", "zh"]
store = "s.sqlite"
output = "out"
[[models]]
name = "m"
backend = "mock"
[statements]
statements = "statements.csv"
labels = "labels.csv"
structured_output = true
answer_mode = "constrained"
evaluation_samples = 1
bootstrap_rounds = 100
scores = "none"
translator = { name = "echo-translator", backend = "mock", options = { mode = "echo" } }
""",
        encoding="utf-8",
    )
    result = run_experiment(path, show_progress=False, report=False)
    assert result.results["translate"].total == 2  # b and c into zh; a has its own text_zh, en is the source
    translations = pl.read_csv(tmp_path / "out" / "analysis" / "statement_translations.csv")
    assert sorted(translations["statement_id"].to_list()) == ["b", "c"]
    with RunStore(tmp_path / "s.sqlite") as store:
        asked = store.requests_with_meta(result.run_id, "evaluate")
    # Only the scored statements (a, b) are evaluated, once per language; a's own translation is used in zh.
    assert sorted(set(asked["statement_id"].to_list())) == ["a", "b"] and asked.height == 4
    zh_prompt = asked.filter((pl.col("statement_id") == "a") & (pl.col("language") == "zh"))["messages_json"][0]
    assert "城市应当禁止汽车" in json.loads(zh_prompt)[0]["content"]
    manifest = json.loads((tmp_path / "out" / "analysis" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["untranslated_statements"] == 0
    assert manifest["scored_pairs"]["pdi"] == 1 and manifest["scored_pairs"]["ivr"] == 0


def test_native_language_group_view_compares_each_group_in_its_own_language() -> None:
    from culturalign.probes.statements.profiles import native_scores

    rows = []
    for i in range(4):
        rows += [
            ("us", "en", f"s{i}", "agree"),
            ("us", "zh", f"s{i}", "disagree"),
            ("cn", "zh", f"s{i}", "disagree"),
            ("cn", "en", f"s{i}", "agree"),
        ]
    scores = statement_scores(
        _stances(rows, {"us": "US", "cn": "CN"}), _labels([(f"s{i}", "idv", 1.0) for i in range(4)])
    )
    # Within each language the groups agree, so the plain view has nothing to compare ...
    assert group_view(scores, "origin", 100, 0).is_empty()
    # ... but each in its own language (US in en, CN in zh) they differ on every statement.
    native = group_view(native_scores(scores, "origin", {"US": "en", "CN": "zh"}), "origin", 100, 0)
    means = {r["group"]: (r["mean"], r["n_statements"], r["language"]) for r in native.iter_rows(named=True)}
    assert means == {"US": (1.0, 4, "native"), "CN": (-1.0, 4, "native")}


def test_repeated_runs_get_distinct_seeds_and_keys(tmp_path: Path) -> None:
    from culturalign.config import parse_experiment
    from culturalign.probes.statements.evaluate import evaluation_requests

    experiment = parse_experiment(
        {
            "probe": "statements",
            "name": "x",
            "languages": ["en"],
            "models": [{"name": "m", "backend": "mock", "params": {"seed": 10}}],
            "statements": {"max_statements": 1, "evaluation_samples": 3},
        }
    )
    statements = load_statements(None).head(1)
    requests = evaluation_requests(experiment, statements, load_frames())
    assert [r.params.seed for r in requests] == [10, 11, 12]
    assert all(r.params.temperature == 1.0 for r in requests)
    assert len({r.key for r in requests}) == 3
