"""Offline judge candidates, validation on the hand-labelled reference set, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from culturalign.cli.main import main
from culturalign.judge.stance import LABELS, StanceTask
from culturalign.probes.wvs.judge.benchmark import validate_judge
from culturalign.probes.wvs.judge.candidates import get_candidate, known_candidates
from culturalign.probes.wvs.judge.candidates.lexicon import LexiconJudge, approval_means_pro, polarity
from culturalign.probes.wvs.judge.quality import default_judge_name, judge_quality
from culturalign.probes.wvs.judge.reference import load_reference_labels

LABELS_FILE = Path(__file__).parent / "data" / "judge_reference_labels.csv"


def _responses(paper_data: Path) -> Path:
    return paper_data / "example_responses_gemma-2-27b-it.jsonl"


def _task(summaries: tuple[str, ...], pro: str, con: str, text: str = "") -> StanceTask:
    return StanceTask("x", "en", "topic", pro, con, summaries, text)


# -- lexicon ----------------------------------------------------------------------------------
def test_lexicon_polarity_and_negation() -> None:
    assert polarity("She strongly supports it.", "en") > 0
    assert polarity("She does not support it.", "en") < 0
    assert polarity("Ele é contra e acha errado.", "pt") < 0
    assert polarity("He talked about the weather.", "en") == 0


def test_lexicon_orients_items_by_their_statements() -> None:
    normal = _task(("I support it fully.",), "It can be justified.", "It can never be justified.")
    reversed_item = _task(("I support it fully.",), "It is wrong and harmful.", "It is good and fair.")
    assert approval_means_pro(normal) and not approval_means_pro(reversed_item)
    judge = LexiconJudge()
    assert judge.judge_one(normal).labels == ("pro",)
    assert judge.judge_one(reversed_item).labels == ("con",)


def test_lexicon_reads_totals_and_fails_on_nothing() -> None:
    judge = LexiconJudge()
    totals = _task((), "a b c", "d e f", text="Two were in favour and one against.")
    assert judge.judge_one(totals).labels == ("pro", "pro", "con")
    assert not judge.judge_one(_task((), "a b c", "d e f", text="")).ok


def test_unknown_candidate_is_a_user_error() -> None:
    from culturalign.errors import UserError

    with pytest.raises(UserError):
        get_candidate("no-such-judge")


# -- the reference set and the chosen default ------------------------------------------------------------
def test_reference_set_is_large_and_multilingual() -> None:
    labels = load_reference_labels(LABELS_FILE)
    assert labels.height >= 300
    assert labels["language"].n_unique() >= 3
    assert set(labels["label"].unique()) == set(LABELS)


def test_lexicon_beats_the_constant_judge_on_the_reference_set(paper_data: Path, tmp_path: Path) -> None:
    lexicon = validate_judge(LABELS_FILE, _responses(paper_data), "lexicon", output_dir=tmp_path, rounds=200)
    constant = validate_judge(LABELS_FILE, _responses(paper_data), "always-con", rounds=200)
    assert lexicon.report.n_summaries == load_reference_labels(LABELS_FILE).height
    assert lexicon.report.coverage == 1.0  # every labelled interviewee was found in its response
    assert constant.report.kappa.estimate == pytest.approx(0.0)
    assert lexicon.report.kappa.estimate > 0.05
    assert lexicon.report.kappa.low is not None and lexicon.report.kappa.low > 0.0
    assert lexicon.report.vps_mae.estimate < constant.report.vps_mae.estimate
    written = json.loads((tmp_path / "judge-validation-lexicon.json").read_text())
    assert written["agreement"]["estimate"] == pytest.approx(lexicon.report.agreement.estimate)


def test_default_judge_is_a_validated_candidate_and_flagged_as_weak() -> None:
    name = default_judge_name()
    assert name in known_candidates()
    quality = judge_quality(name)
    assert quality.validated and quality.kappa is not None and not math.isnan(quality.kappa)
    # no offline candidate reaches a usable judge: reports must say so
    assert not quality.interpretable and quality.warning()


def test_default_has_the_highest_kappa_of_the_measured_candidates() -> None:
    measured = {n: judge_quality(n) for n in known_candidates() if not n.startswith("always-")}
    kappas = {n: q.kappa for n, q in measured.items() if q.validated and q.kappa is not None}
    assert kappas and max(kappas, key=kappas.__getitem__) == default_judge_name()


# -- CLI --------------------------------------------------------------------------------------
def test_cli_validate_writes_summary(paper_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = [
        "judge",
        "validate",
        "--labels",
        str(LABELS_FILE),
        "--judge",
        "lexicon",
        "--responses",
        str(_responses(paper_data)),
        "--output",
        str(tmp_path),
        "--rounds",
        "50",
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code in (0, None)
    summary = json.loads((tmp_path / "judge-validation-lexicon.json").read_text())
    assert summary["bootstrap"]["rounds"] == 50 and summary["n_summaries"] > 0
    confusion = pl.read_csv(tmp_path / "judge-validation-lexicon-confusion.csv")
    assert confusion["reference"].to_list() == list(LABELS)


def test_cli_rejects_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("line,item,language,interviewee,label\n0,d059,en,1,maybe\n")
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"topic": "t", "response": "1. a"}) + "\n")
    for judge in ("lexicon", "no-such-judge"):
        with pytest.raises(SystemExit) as exit_info:
            main(
                [
                    "judge",
                    "validate",
                    "--labels",
                    str(bad),
                    "--judge",
                    judge,
                    "--responses",
                    str(responses),
                    "--output",
                    str(tmp_path / "out"),
                ]
            )
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "pro/con/null" in err and "unknown judge" in err
    assert not (tmp_path / "out").exists()


# -- small local models (slow: they load GGUF weights) ---------------------------------------------------
@pytest.mark.slow
def test_gemma_logit_judge_returns_calibrated_labels() -> None:
    import llama_cpp

    from culturalign.probes.wvs.judge.candidates.logits import LogitJudge, gemma_270m_path

    judge = LogitJudge("gemma-270m-fewshot", gemma_270m_path())
    task = _task(
        ("Tom says executing murderers is right.", "Mia thinks the state must never kill."),
        "The death penalty can be justified.",
        "The death penalty can never be justified.",
    )
    verdict = judge.judge_tasks([task])[0]
    assert verdict.ok and len(verdict.labels or ()) == 2 and set(verdict.labels or ()) <= set(LABELS)
    logprobs = judge.label_logprobs(task.topic, task.pro_statement, task.con_statement, task.summaries[0])
    assert math.isclose(float(sum(math.exp(x) for x in logprobs)), 1.0, rel_tol=1e-6)
    # loaded without llama.cpp's extra buffer types (they crash llama_decode on AMX CPUs)
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is False
