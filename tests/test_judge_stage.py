"""The wvs judge stage end to end on a small store, with the mock backend and test backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culturalign.config import Experiment, ExperimentConfig
from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelBackend, ModelOutput, ModelSpec
from culturalign.models.registry import register_backend
from culturalign.probes.registry import RunContext
from culturalign.probes.wvs import judging
from culturalign.probes.wvs.settings import WVSSettings
from culturalign.store.db import RunStore

ITEMS = {"d059": ("Men make better political leaders.", "Women make leaders as good as men.")}


class CountingJudge(ModelBackend):
    """Answers by a rule written in the spec's options, and counts its calls."""

    calls: list[float | None] = []

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        CountingJudge.calls.append(config.temperature)
        rule = self.spec.options.get("rule", "ok")
        if rule == "garbage" or (rule == "garbage-first" and not config.temperature):
            return ModelOutput(text="Sure! Here are the labels: pro, con.")
        n = messages[-1].content.count("\n", messages[-1].content.index("Write-up:"))
        return ModelOutput(text=json.dumps({"labels": [self.spec.options["label"]] * n}))


register_backend("test-counting", CountingJudge)


def _spec(name: str, label: str, rule: str = "ok") -> ModelSpec:
    return ModelSpec(name=name, backend="test-counting", options={"rule": rule, "label": label}, max_concurrency=2)


def _context(tmp_path: Path, judges: list[ModelSpec], responses: list[str]) -> RunContext:
    config = ExperimentConfig(
        probe="wvs", name="t", languages=["en"], models=[ModelSpec(name="gen", backend="mock")], judges=judges
    )
    store = RunStore(tmp_path / "run.sqlite")
    run_id = store.start_run("t", "wvs", {})
    generator = ModelSpec(name="gen", backend="mock", options={"mode": "echo"})
    requests = [
        Request(
            generator,
            (ChatMessage(role="user", content=text),),
            GenerateConfig(),
            sample_index=i,
            meta={"item": "d059", "language": "en", "model": "gen", "topic": "Women as political leaders"},
        )
        for i, text in enumerate(responses)
    ]
    run_requests(store, run_id, "generate", requests, show_progress=False)
    parse = []
    for request, text in zip(requests, responses, strict=True):
        summaries = [line.split(". ", 1)[1] for line in text.splitlines() if line[:1].isdigit()]
        parse.append((request.key, {"kept": True, "reason": None, "response_language": "en", "summaries": summaries}))
    parse.append(("not-a-generate-key", {"kept": False, "reason": "empty", "response_language": None, "summaries": []}))
    store.save_results(run_id, "parse", parse)
    experiment = Experiment(config=config, settings=WVSSettings())
    return RunContext(experiment=experiment, store=store, run_id=run_id, output_dir=tmp_path, show_progress=False)


@pytest.fixture(autouse=True)
def _statements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judging, "item_statements", lambda ctx: lambda item: ITEMS[item])
    CountingJudge.calls = []


RESPONSES = [
    "1. Ana thinks men lead better.\n2. Bo disagrees strongly.\n3. Cy has no view.",
    "1. Di says women are just as able.\n2. Ed agrees with Di.",
    "Overall, three were in favour and one against.",
]


def _results(ctx: RunContext) -> list[dict]:
    return list(ctx.store.results(ctx.run_id, "judge").iter_rows(named=True))


def test_stage_with_mock_json_judge(tmp_path: Path) -> None:
    mock = ModelSpec(name="mock-judge", backend="mock", options={"mode": "json"})
    ctx = _context(tmp_path, [mock], RESPONSES)
    summary = judging.judge_stage(ctx)
    rows = _results(ctx)
    assert len(rows) == 3  # the dropped response is not judged
    for row in rows:
        assert row["failure"] is None and row["judge"] == "mock-judge"
        assert row["n_pro"] + row["n_con"] + row["n_null"] == len(row["labels"])
        assert set(row["labels"]) <= {"pro", "con", "null"}
        if row["n_pro"] + row["n_con"]:
            assert row["vps"] == pytest.approx(row["n_pro"] / (row["n_pro"] + row["n_con"]))
        else:
            assert row["vps"] is None
    totals = [r for r in rows if r["labels"] == ["pro", "pro", "pro", "con"]]
    assert len(totals) == 1 and totals[0]["vps"] == pytest.approx(0.75)
    # two responses needed the model; the third was read from its totals
    asked = ctx.store.requests(ctx.run_id, "judge")
    assert asked.height == 2
    assert summary.judged == 3 and summary.quality[0]["validated"] is False


def test_rejudging_is_served_from_the_store(tmp_path: Path) -> None:
    ctx = _context(tmp_path, [_spec("always-pro", "pro")], RESPONSES[:2])
    judging.judge_stage(ctx)
    first = len(CountingJudge.calls)
    judging.judge_stage(ctx)
    assert first == 2 and len(CountingJudge.calls) == first
    assert [r["vps"] for r in _results(ctx)] == [1.0, 1.0]


def test_invalid_reply_is_retried_then_recorded_as_failure(tmp_path: Path) -> None:
    ctx = _context(tmp_path, [_spec("flaky", "con", "garbage-first")], RESPONSES[:1])
    judging.judge_stage(ctx)
    row = _results(ctx)[0]
    assert row["failure"] is None and row["labels"] == ["con", "con", "con"] and row["vps"] == 0.0
    assert CountingJudge.calls[0] == 0.0 and CountingJudge.calls[1] == pytest.approx(0.7)

    CountingJudge.calls = []
    ctx2 = _context(tmp_path / "b", [_spec("broken", "con", "garbage")], RESPONSES[:1])
    judging.judge_stage(ctx2)
    row = _results(ctx2)[0]
    assert len(CountingJudge.calls) == 3
    assert row["labels"] is None and row["vps"] is None
    assert "reply holds no JSON" in row["failure"] and "after 3 attempts" in row["failure"]


def test_several_judges_majority_vote_and_agreement(tmp_path: Path) -> None:
    judges = [_spec("p1", "pro"), _spec("p2", "pro"), _spec("c1", "con")]
    ctx = _context(tmp_path, judges, RESPONSES[:2])
    summary = judging.judge_stage(ctx)
    for row in _results(ctx):
        assert set(row["labels"]) == {"pro"} and row["vps"] == 1.0
        assert row["judge"] == "majority(p1, p2, c1)" and set(row["per_judge"]) == {"p1", "p2", "c1"}
    assert summary.inter_judge_fleiss_kappa is not None


def test_embedded_default_judge_runs_offline(tmp_path: Path) -> None:
    ctx = _context(tmp_path, [], RESPONSES)
    summary = judging.judge_stage(ctx)
    rows = _results(ctx)
    assert len(rows) == 3 and all(r["failure"] is None for r in rows)
    assert ctx.store.requests(ctx.run_id, "judge").height == 0  # no model call
    assert summary.judges == [judging.default_judge_name()]


@pytest.mark.slow
def test_stage_with_the_embedded_llamacpp_model_and_a_grammar(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    spec = ModelSpec(name="gemma-judge", backend="llamacpp", prompt_style="completion", max_concurrency=1)
    ctx = _context(tmp_path, [spec], RESPONSES[:1])
    judging.judge_stage(ctx)
    row = _results(ctx)[0]
    # the grammar forces a valid reply; a failure would carry its reason instead of labels
    assert row["failure"] is None, row["failure"]
    assert 1 <= len(row["labels"]) <= 5 and set(row["labels"]) <= {"pro", "con", "null"}
