"""Answer modes (free / constrained / scored) of the vsm and statements probes: separate store
keys, distributions that sum to 1, a loopback OpenAI-compatible server with and without
logprobs, guided choice with its fallback, and bad input refused before any call."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import run_cli
from culturalign.config import load_experiment
from culturalign.engine.runner import Request
from culturalign.errors import ConfigError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec, read_choice_logprobs
from culturalign.models.openai_choices import option_logprobs
from culturalign.probes.answer_modes import distribution, entropy_bits, expected_value, mode_params

TABLE = "6-dimensions-for-website-2015-08-16.csv"


# -- a loopback OpenAI-compatible server -----------------------------------------------------------
@dataclass
class Behaviour:
    logprobs: bool = True  # answer scored requests with logprobs
    reject_logprobs: bool = False  # 400 for a request asking for logprobs
    reject_guided: bool = False  # 400 for structured_outputs / guided_choice (as OpenAI does)
    bodies: list[dict] = field(default_factory=list)


# First-token alternatives the server reports: "1" twice (with and without a space), "5" absent.
COMPLETION_TOP = {"1": -1.0, " 1": -2.0, "2": -1.5, "3": -0.7, "4": -2.5, "Hello": -3.0}


def _handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._send(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            behaviour.bodies.append(body)
            guided = "structured_outputs" in body or "guided_choice" in body
            if behaviour.reject_guided and guided:
                self._send(400, {"error": {"message": "Unrecognized request argument supplied"}})
                return
            if behaviour.reject_logprobs and body.get("logprobs"):
                self._send(400, {"error": {"message": "logprobs is not supported"}})
                return
            completion = self.path.endswith("/completions") and not self.path.endswith("/chat/completions")
            text, logprobs = "3", None
            if body.get("response_format", {}).get("type") == "json_schema":
                text = json.dumps({"answer": "4"})
            if body.get("logprobs") and behaviour.logprobs:
                if completion:
                    logprobs = {"tokens": ["3"], "top_logprobs": [COMPLETION_TOP]}
                else:
                    top = [{"token": "agree", "logprob": -0.2}, {"token": "dis", "logprob": -1.8}]
                    logprobs = {"content": [{"token": "agree", "logprob": -0.2, "top_logprobs": top}]}
            choice = {"index": 0, "finish_reason": "stop", "logprobs": logprobs}
            if completion:
                choice["text"] = text
            else:
                choice["message"] = {"role": "assistant", "content": text}
            usage = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
            self._send(200, {"id": "x", "object": "text_completion", "choices": [choice], "usage": usage})

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def loopback(behaviour: Behaviour) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _vsm_experiment(tmp_path: Path, shared_data: Path, model_block: str, mode: str, **extra: str) -> Path:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    path = tmp_path / "vsm.toml"
    path.write_text(
        f"""
probe = "vsm"
name = "modes"
languages = ["en"]
store = "runs/s.sqlite"
output = "runs/out"

[[models]]
{model_block}

[vsm]
countries = ["japan"]
repeats = 2
bootstrap_rounds = 0
answer_mode = "{mode}"
instrument = ["{(shared_data / "vsm2013" / "hofstede_test.csv").as_posix()}"]
scores = "{(shared_data / "hofstede" / TABLE).as_posix()}"
{lines}
""",
        encoding="utf-8",
    )
    return path


def _openai_block(base_url: str, style: str = "completion") -> str:
    return f'name = "srv"\nbackend = "openai"\nmodel = "m"\nbase_url = "{base_url}"\nprompt_style = "{style}"\nmax_concurrency = 1'


# -- distributions ---------------------------------------------------------------------------------
def test_scored_probabilities_sum_to_one_with_expected_value_and_entropy() -> None:
    logprobs = {"1": math.log(0.1), "2": math.log(0.2), "3": math.log(0.1), "4": None, "5": math.log(0.2)}
    probs = distribution(logprobs)
    assert probs is not None and sum(probs.values()) == pytest.approx(1.0)
    assert probs["4"] == 0.0 and probs["2"] == pytest.approx(1 / 3)
    assert expected_value(probs, {k: float(k) for k in probs}) == pytest.approx((1 + 4 + 3 + 10) / 6)
    assert entropy_bits({"a": 0.5, "b": 0.5}) == pytest.approx(1.0)
    assert entropy_bits({"a": 1.0, "b": 0.0}) == 0.0
    assert distribution({"1": None, "2": None}) is None


def test_first_token_alternatives_are_summed_per_option() -> None:
    top = list(COMPLETION_TOP.items())
    found = option_logprobs(top, ["1", "2", "3", "4", "5"])
    assert found["1"] == pytest.approx(math.log(math.exp(-1.0) + math.exp(-2.0)))
    assert found["5"] is None
    # "不" begins only 不同意; "同" only 同意; a token beginning both options would count for neither.
    zh = option_logprobs([("不", -1.0), ("同", -0.5)], ["同意", "不同意"])
    assert zh == {"同意": pytest.approx(-0.5), "不同意": pytest.approx(-1.0)}


# -- store keys ---------------------------------------------------------------------------------------
def test_the_modes_are_separate_store_keys(tmp_path: Path, shared_data: Path) -> None:
    model = ModelSpec(name="m", backend="mock")
    messages = (ChatMessage(role="user", content="Pick one.\n1. a\n2. b"),)
    base = GenerateConfig(temperature=0.0)
    keys = {
        mode: Request(model, messages, base.merged(mode_params(mode, ["1", "2"])), 0).key
        for mode in ("free", "constrained", "scored")
    }
    assert len(set(keys.values())) == 3
    # Through the probe: the same experiment in two modes asks disjoint sets of requests.
    from culturalign.probes.vsm.stages import plan

    block = 'name = "m"\nbackend = "mock"'
    free = {r.key for r in plan(load_experiment(_vsm_experiment(tmp_path, shared_data, block, "free")))}
    constrained = {r.key for r in plan(load_experiment(_vsm_experiment(tmp_path, shared_data, block, "constrained")))}
    scored = plan(load_experiment(_vsm_experiment(tmp_path, shared_data, block, "scored")))
    assert len(free) == len(constrained) == 24 * 2
    assert len(scored) == 24  # deterministic: asked once per item, whatever `repeats` says
    assert not free & constrained and not free & {r.key for r in scored}


# -- the loopback server -------------------------------------------------------------------------------
def test_scored_reads_logprobs_from_an_openai_compatible_server(tmp_path: Path, shared_data: Path, capsys) -> None:
    behaviour = Behaviour()
    with loopback(behaviour) as url:
        experiment = _vsm_experiment(tmp_path, shared_data, _openai_block(url), "scored")
        code, _, err = run_cli(["run", str(experiment), "--no-progress"], capsys)
    assert code == 0, err
    asked = [b for b in behaviour.bodies if "prompt" in b]
    assert len(asked) == 24 and all(b["logprobs"] == 20 and b["max_tokens"] == 1 for b in asked)
    answers = pl.read_csv(tmp_path / "runs" / "out" / "analysis" / "answers.csv")
    assert answers.height == 24 and (answers["status"] == "ok").all()
    assert (answers["answer_mode"] == "scored").all()
    probs = json.loads(answers["probabilities"][0])
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5) and probs["5"] == 0.0  # rounded to 6 places
    mass = {"1": math.exp(-1) + math.exp(-2), "2": math.exp(-1.5), "3": math.exp(-0.7), "4": math.exp(-2.5)}
    total = sum(mass.values())
    assert probs["3"] == pytest.approx(mass["3"] / total, abs=1e-5)
    assert answers["value"][0] == pytest.approx(sum(int(k) * v / total for k, v in mass.items()), abs=1e-4)
    assert (answers["choice"] == 1).all()  # "1" and " 1" together (0.503) outweigh "3" (0.497)
    report = (tmp_path / "runs" / "out" / "report" / "report.html").read_text(encoding="utf-8")
    assert "Scored answers: expected option and entropy" in report and "Answer modes (scored: srv)" in report


def test_scored_chat_reads_top_logprobs(tmp_path: Path) -> None:
    import asyncio

    from culturalign.models.openai_backend import OpenAIBackend

    behaviour = Behaviour()
    with loopback(behaviour) as url:
        spec = ModelSpec(name="srv", backend="openai", model="m", base_url=url, prompt_style="chat")
        backend = OpenAIBackend(spec)
        config = GenerateConfig(score_choices=["agree", "disagree"])
        messages = [ChatMessage(role="user", content="Agree or disagree?")]

        async def ask():
            try:
                return await backend.generate(messages, config)
            finally:
                await backend.aclose()

        out = asyncio.run(ask())
    assert out.ok, out.error
    assert behaviour.bodies[-1]["logprobs"] is True and behaviour.bodies[-1]["top_logprobs"] == 20
    assert read_choice_logprobs(out.text) == {"agree": pytest.approx(-0.2), "disagree": pytest.approx(-1.8)}


@pytest.mark.parametrize(
    "behaviour", [Behaviour(logprobs=False), Behaviour(reject_logprobs=True)], ids=["silent", "400"]
)
def test_a_server_without_logprobs_is_a_one_line_error_naming_it(
    tmp_path: Path, shared_data: Path, capsys, behaviour: Behaviour
) -> None:
    with loopback(behaviour) as url:
        experiment = _vsm_experiment(tmp_path, shared_data, _openai_block(url), "scored")
        code, _, err = run_cli(["run", str(experiment), "--no-progress"], capsys)
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert url in lines[0] and "logprobs" in lines[0] and "Traceback" not in err
    assert len(behaviour.bodies) == 1  # remembered: the other 23 requests were not sent


def test_constrained_uses_guided_choice_and_falls_back_to_an_enum_schema(
    tmp_path: Path, shared_data: Path, capsys
) -> None:
    guided = Behaviour()
    with loopback(guided) as url:
        code, _, err = run_cli(
            [
                "run",
                str(_vsm_experiment(tmp_path, shared_data, _openai_block(url, "chat"), "constrained")),
                "--no-progress",
            ],
            capsys,
        )
    assert code == 0, err
    assert guided.bodies[0]["structured_outputs"] == {"choice": ["1", "2", "3", "4", "5"]}
    answers = pl.read_csv(tmp_path / "runs" / "out" / "analysis" / "answers.csv")
    assert (answers["choice"] == 3).all() and (answers["answer_mode"] == "constrained").all()

    refusing = Behaviour(reject_guided=True)
    other = tmp_path / "second"
    other.mkdir()
    with loopback(refusing) as url:
        experiment = _vsm_experiment(
            other, shared_data, _openai_block(url, "chat").replace('"m"', '"m2"'), "constrained"
        )
        code, _, err = run_cli(["run", str(experiment), "--no-progress"], capsys)
    assert code == 0, err
    schema_bodies = [b for b in refusing.bodies if "response_format" in b]
    assert schema_bodies and schema_bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["answer"][
        "enum"
    ] == ["1", "2", "3", "4", "5"]
    answers = pl.read_csv(other / "runs" / "out" / "analysis" / "answers.csv")
    assert (answers["choice"] == 4).all()  # read from {"answer": "4"}


# -- bad input, before any call -------------------------------------------------------------------------
def _assert_refused(experiment: Path, capsys, *needles: str) -> None:
    code, _, err = run_cli(["run", str(experiment), "--no-progress"], capsys)
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (experiment.parent / "runs" / "s.sqlite").exists()  # nothing opened, nothing asked


def test_a_mode_the_backend_cannot_serve_is_refused(tmp_path: Path, shared_data: Path, capsys) -> None:
    from culturalign.models.mock import MockBackend
    from culturalign.models.registry import _FACTORIES, _MODES, register_backend
    from culturalign.probes.vsm.stages import plan

    # vLLM offline has no option scoring (checked without vLLM installed: the check needs no backend)
    vllm = load_experiment(
        _vsm_experiment(tmp_path, shared_data, 'name = "big"\nbackend = "vllm"\nmodel = "x"', "scored")
    )
    with pytest.raises(ConfigError, match="'big': backend 'vllm' cannot answer in mode 'scored'"):
        plan(vllm)
    register_backend("text-only", MockBackend)  # a backend registered without saying it serves more than text
    try:
        experiment = _vsm_experiment(tmp_path, shared_data, 'name = "t"\nbackend = "text-only"', "scored")
        _assert_refused(experiment, capsys, "'t'", "text-only", "scored")
    finally:
        _FACTORIES.pop("text-only", None)
        _MODES.pop("text-only", None)


def test_a_registered_backend_serves_only_free_text_unless_it_says_so(tmp_path: Path, shared_data: Path) -> None:
    from culturalign.models.mock import MockBackend
    from culturalign.models.registry import _FACTORIES, _MODES, register_backend
    from culturalign.probes.vsm.stages import plan

    register_backend("plain-test", MockBackend)
    try:
        block = 'name = "p"\nbackend = "plain-test"'
        with pytest.raises(ConfigError, match="cannot answer in mode 'constrained'"):
            plan(load_experiment(_vsm_experiment(tmp_path, shared_data, block, "constrained")))
        register_backend("plain-test", MockBackend, answer_modes=frozenset({"free", "constrained"}))
        assert len(plan(load_experiment(_vsm_experiment(tmp_path, shared_data, block, "constrained")))) == 48
    finally:
        _FACTORIES.pop("plain-test", None)
        _MODES.pop("plain-test", None)


def test_answer_modes_for_an_unknown_model_is_refused(tmp_path: Path, shared_data: Path, capsys) -> None:
    experiment = _vsm_experiment(
        tmp_path, shared_data, 'name = "m"\nbackend = "mock"', "free", answer_modes='{ gpt = "scored" }'
    )
    _assert_refused(experiment, capsys, "'gpt'", "answer_modes")


def test_options_without_labels_cannot_be_constrained_or_scored(tmp_path: Path, shared_data: Path) -> None:
    from culturalign.probes.vsm.instrument import ItemText, load_wording
    from culturalign.probes.vsm.stages import build_requests

    experiment = load_experiment(_vsm_experiment(tmp_path, shared_data, 'name = "m"\nbackend = "mock"', "scored"))
    wording = load_wording([str(shared_data / "vsm2013" / "hofstede_test.csv")])
    item = wording["en"][7]
    wording["en"][7] = ItemText(7, item.text, (*item.options[:4], ""), "en")  # e.g. a translation lost a label
    with pytest.raises(ConfigError, match="VSM item 7 .*no text"):
        build_requests(experiment, wording)
    free = load_experiment(_vsm_experiment(tmp_path, shared_data, 'name = "m"\nbackend = "mock"', "free"))
    assert len(build_requests(free, wording)) == 48  # free text needs no scorable labels


def test_statements_scored_needs_verdict_words_for_every_language(tmp_path: Path, capsys) -> None:
    from culturalign.paths import package_data
    from culturalign.probes.statements.statements import DEFAULT_FRAMES

    frames = package_data(*DEFAULT_FRAMES).read_text(encoding="utf-8")
    start = frames.index("[choices.zh]")
    (tmp_path / "frames.toml").write_text(frames[:start] + frames[frames.index("[keywords.en]") :], encoding="utf-8")
    experiment = tmp_path / "st.toml"
    experiment.write_text(
        """
probe = "statements"
name = "st"
languages = ["en", "zh"]
store = "runs/s.sqlite"
output = "runs/out"
[[models]]
name = "m"
backend = "mock"
[[judges]]
name = "j"
backend = "mock"
[statements]
frames = "frames.toml"
max_statements = 2
answer_mode = "scored"
scores = "none"
""",
        encoding="utf-8",
    )
    _assert_refused(experiment, capsys, "'zh'", "choices")


def test_a_batch_output_line_of_a_scored_request_is_read_as_scores() -> None:
    from culturalign.engine.batch_files import output_from_record

    body = {
        "choices": [{"index": 0, "text": "3", "logprobs": {"top_logprobs": [COMPLETION_TOP]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1},
    }
    record = {"custom_id": "k", "response": {"status_code": 200, "body": body}}
    out = output_from_record(record, True, ["1", "2", "3", "4", "5"])
    assert out.ok and read_choice_logprobs(out.text)["3"] == pytest.approx(-0.7)
    body["choices"][0]["logprobs"] = None
    assert output_from_record(record, True, ["1", "2", "3", "4", "5"]).error.startswith("no_logprobs")
    assert output_from_record(record, True).text == "3"  # not scored: the text, as before
