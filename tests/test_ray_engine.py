"""Runs on Ray (`--engine ray`): one local Ray instance (2 CPUs) for the module, loopback servers.

A run on Ray stores what the native engine stores; a driver killed midway and run again loses
and repeats nothing beyond the requests in flight; the vLLM engine path is checked up to the
engine call (no GPU here: the engine is replaced by a stand-in); bad input is one line, exit 2."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import run_cli
from culturalign.engine import run_requests
from culturalign.engine.ray_engine import RayCluster, actor_layout, using_cluster
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.run import run_experiment
from culturalign.store import RunStore
from culturalign.store.stats import endpoint_summary
from servers.batch_api import BatchPlan, BatchServer
from servers.faulty import FaultPlan, FaultyServer

TESTS = Path(__file__).resolve().parent
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason='Ray is not installed (pip install "culturalign[ray]")'
)

EXPERIMENT = """
probe = "wvs"
name = "{name}"
seed = 3
languages = ["da", "en", "nl", "pt"]
store = "{name}.sqlite"
output = "{name}-out"

[[models]]
name = "served"
backend = "openai"
model = "stub"
base_url = {base_url}
max_concurrency = 4
params = {{ max_tokens = 64 }}

[wvs]
prompts_per_language = 10
"""


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """One local Ray instance for the module; its workers find the package and the test servers."""
    import ray

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS.parent / "src"), str(TESTS), saved or ""])
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture
def published_tables(static_server, paper_data, monkeypatch) -> None:
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(paper_data))


def _experiment(folder: Path, name: str, base_url: str | list[str]) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(EXPERIMENT.format(name=name, base_url=json.dumps(base_url)), encoding="utf-8")
    return path


def _calls(store_path: Path) -> list[tuple]:
    with RunStore(store_path) as store:
        return store.conn.execute(
            "SELECT key, model_name, model_json, params_json, messages_json, sample_index, response,"
            " input_tokens, output_tokens, error, finish_reason FROM calls ORDER BY key"
        ).fetchall()


@needs_ray
def test_a_run_on_ray_stores_what_the_native_engine_stores(
    tmp_path, ray_address, published_tables, monkeypatch
) -> None:
    import culturalign.engine.runner as runner

    with BatchServer(BatchPlan()) as one, BatchServer(BatchPlan()) as two:
        urls = [one.base_url, two.base_url]  # two replicas: the summary's endpoint counts come from the actors
        native = run_experiment(_experiment(tmp_path, "native", urls), show_progress=False)

        def no_local_lanes(spec):  # on Ray, the driver builds no backend: the actors do
            raise AssertionError(f"a local lane was opened for {spec.name}")

        monkeypatch.setattr(runner, "get_backend", no_local_lanes)
        on_ray = run_experiment(_experiment(tmp_path, "onray", urls), show_progress=False, engine="ray")
    calls = _calls(tmp_path / "onray.sqlite")
    assert len(calls) == 40 and all(row[6] and row[9] is None and row[7] and row[8] for row in calls)
    assert calls == _calls(tmp_path / "native.sqlite")  # same keys, answers, token counts
    assert on_ray.stages == native.stages and on_ray.report_path is not None
    generated = on_ray.summary.filter(on_ray.summary["stage"] == "generate")
    assert generated["answered"].sum() == 40
    with RunStore(tmp_path / "onray.sqlite") as store:
        endpoints = endpoint_summary(store, on_ray.run_id)
    assert sorted(endpoints["endpoint"]) == sorted(urls) and endpoints["answered"].sum() == 40


# -- SIGKILL of the driver midway, then a rerun --------------------------------------------------
N = 120


def _driver(base_url: str, store: Path, address: str) -> subprocess.Popen:
    command = [sys.executable, str(TESTS / "servers" / "stub_run.py"), "--base-url", base_url, "--store", str(store)]
    command += ["--n", str(N), "--concurrency", "8", "--engine", "ray", "--ray-address", address]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent / "src"), str(TESTS)])}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _stored_texts(store: Path) -> set[str]:
    if not store.exists():
        return set()
    try:
        with sqlite3.connect(store, timeout=5) as conn:
            rows = conn.execute("SELECT messages_json FROM calls WHERE response IS NOT NULL").fetchall()
    except sqlite3.OperationalError:  # the schema is still being created
        return set()
    return {json.loads(m)[-1]["content"] for (m,) in rows}


@needs_ray
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_driver_reruns_without_losing_or_repeating_anything_beyond_its_flight(tmp_path, ray_address) -> None:
    store = tmp_path / "s.sqlite"
    everything = {f"question {i:05d}" for i in range(N)}
    with FaultyServer(FaultPlan(latency_s=0.2)) as server:
        driver = _driver(server.base_url, store, ray_address)
        deadline = time.monotonic() + 300  # Ray start-up on a busy machine takes a while
        while len(_stored_texts(store)) < N // 4:
            assert driver.poll() is None, f"the run ended before it could be killed: {driver.stderr.read()}"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        before = _stored_texts(store)
        assert N // 4 <= len(before) < N
        server.reset_stats()

        rerun = _driver(server.base_url, store, ray_address)
        assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
        asked_again = set(server.stats.attempts)  # the rerun's, and what the killed run had in flight
        answers = {text: len(ids) for text, ids in server.stats.answers.items()}
    assert not asked_again & before  # nothing stored was asked again
    assert asked_again == everything - before
    assert _stored_texts(store) == everything
    with RunStore(store) as opened:
        assert opened.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == N
        assert opened.run().status == "done"
    assert all(count >= 1 for count in answers.values())


# -- the vLLM engine path, up to the engine call -------------------------------------------------
def _fake_engine(row: dict) -> dict:
    """What Ray Data LLM's engine stage adds to a row (vLLM's output fields), without vLLM."""
    assert isinstance(row["sampling_params"], dict)
    if "messages" in row and not isinstance(row["messages"], str):
        text = row["messages"][-1]["content"]
    else:
        text = row["prompt"]
    if "ENGINE-FAILS" in text:
        return {**row, "__inference_error__": "RuntimeError: out of KV cache"}
    return {
        **row,
        "generated_text": f"vllm says: {text}",
        "num_input_tokens": len(text.split()),
        "num_generated_tokens": 3,
        "time_taken_llm": 0.01,
    }


@needs_ray
def test_the_vllm_engine_processor_gets_the_models_weights_and_sampling_params(
    tmp_path, ray_address, monkeypatch
) -> None:
    import ray.data.llm

    import culturalign.engine.runner as runner

    built = []

    def build_processor(config, preprocess=None, postprocess=None, **_):
        built.append(config)
        return lambda dataset: dataset.map(preprocess).map(_fake_engine).map(postprocess)

    monkeypatch.setattr(ray.data.llm, "build_processor", build_processor)
    monkeypatch.setattr(runner, "CHUNK_REQUESTS", 2)  # three requests: a dataset of two, then one
    spec = ModelSpec(
        name="qwen",
        backend="vllm",
        model="Qwen/Qwen2.5-0.5B-Instruct",
        options={"engine": {"tensor_parallel_size": 2, "max_model_len": 4096}, "max_batch": 16},
    )
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    requests = [
        _request(spec, "what is one plus one", GenerateConfig(temperature=0.0, max_tokens=32, seed=7)),
        _request(spec, "answer in JSON", GenerateConfig(max_tokens=8, json_schema=schema, stop=["\n"])),
        _request(spec, "ENGINE-FAILS here", GenerateConfig(max_tokens=8)),
    ]
    with RunStore(tmp_path / "v.sqlite") as store, using_cluster(RayCluster(8, 4, False, "test")):
        run_id = store.start_run("vllm", "test", {})
        counts = run_requests(store, run_id, "generate", requests, show_progress=False)
        stored = {
            json.loads(m)[-1]["content"]: (response, tokens_in, tokens_out, error)
            for m, response, tokens_in, tokens_out, error in store.conn.execute(
                "SELECT messages_json, response, input_tokens, output_tokens, error FROM calls"
            )
        }
    assert len(built) == 2
    config = built[0]
    assert config.model_source == "Qwen/Qwen2.5-0.5B-Instruct"
    assert {"tensor_parallel_size": 2, "max_model_len": 4096}.items() <= config.engine_kwargs.items()
    assert config.chat_template_stage is True  # a chat model: Ray applies the model's chat template
    assert config.concurrency == 2 and config.batch_size == 16  # 4 GPUs, 2 per replica
    assert counts["answered"] == 2 and counts["failed"] == 1
    assert stored["what is one plus one"] == ("vllm says: what is one plus one", 5, 3, None)
    assert stored["answer in JSON"][0] == "vllm says: answer in JSON"
    response, _, _, error = stored["ENGINE-FAILS here"]
    assert response is None and "out of KV cache" in error


def test_sampling_params_carry_every_set_field_and_the_schema() -> None:
    from culturalign.engine.ray_engine import sampling_params

    schema = {"type": "object"}
    assert sampling_params(GenerateConfig(temperature=0.5, max_tokens=9, stop=["x"], json_schema=schema)) == {
        "temperature": 0.5,
        "max_tokens": 9,
        "stop": ["x"],
        "structured_outputs": {"json": schema},
    }


def test_actors_share_a_models_concurrency_and_never_outnumber_the_cpus() -> None:
    assert actor_layout(8, 2) == (1, 8, 4)
    assert actor_layout(256, 2) == (2, 128, 64)
    assert actor_layout(256, 64) == (8, 32, 16)
    assert actor_layout(1, 16) == (1, 1, 1)
    assert actor_layout(33, 4) == (2, 16, 8)  # never more in flight than max_concurrency


def _request(spec: ModelSpec, text: str, params: GenerateConfig):
    from culturalign.engine import Request

    return Request(spec, (ChatMessage(role="user", content=text),), params)


# -- bad input ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_line_exit_2(code: int, err: str) -> str:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_engine_ray_without_ray_installed_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as without the package
    with FaultyServer() as server:
        code, _, err = run_cli(["run", str(_experiment(tmp_path, "e", server.base_url)), "--engine", "ray"], capsys)
        assert not server.stats.attempts
    assert 'pip install "culturalign[ray]"' in _one_line_exit_2(code, err)
    assert not (tmp_path / "e.sqlite").exists()


@needs_ray
def test_an_unreachable_ray_address_is_one_line_before_any_call(tmp_path, capsys) -> None:
    address = f"127.0.0.1:{_free_port()}"
    with FaultyServer() as server:
        experiment = str(_experiment(tmp_path, "e", server.base_url))
        code, _, err = run_cli(["run", experiment, "--engine", "ray", "--ray-address", address], capsys)
        assert not server.stats.attempts
    assert address in _one_line_exit_2(code, err)
    assert not (tmp_path / "e.sqlite").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--engine", "spark"], "unknown engine 'spark'"), (["--ray-address", "h:1"], "--ray-address needs --engine ray")],
)
def test_an_unknown_engine_or_an_address_without_ray_is_one_line(tmp_path, capsys, args, message) -> None:
    code, _, err = run_cli(["run", str(_experiment(tmp_path, "e", "http://127.0.0.1:9/v1")), *args], capsys)
    assert message in _one_line_exit_2(code, err)
    assert not (tmp_path / "e.sqlite").exists()


def test_a_vllm_model_on_a_gpu_cluster_needs_no_vllm_in_the_driver(tmp_path) -> None:
    from culturalign.config import load_experiment
    from culturalign.errors import BackendError
    from culturalign.run import check_backends

    text = EXPERIMENT.replace('backend = "openai"', 'backend = "vllm"').replace("base_url = {base_url}\n", "")
    path = tmp_path / "v.toml"
    path.write_text(text.format(name="v"), encoding="utf-8")
    experiment = load_experiment(path)
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(BackendError, match="vllm"):
            check_backends(experiment)  # a local run needs vLLM here
    with using_cluster(RayCluster(cpus=2, gpus=1, started_here=False, address="test")):
        check_backends(experiment)  # on the cluster's GPUs, Ray Data LLM loads the weights there


@needs_ray
def test_a_backend_the_cluster_cannot_build_ends_the_run_in_one_line(tmp_path, ray_address, monkeypatch) -> None:
    from culturalign.errors import BackendError
    from culturalign.models import registry
    from culturalign.models.mock import MockBackend

    # a backend this process has (a plugin, say) but the cluster's workers do not
    monkeypatch.setitem(registry._FACTORIES, "only-here", MockBackend)
    spec = ModelSpec(name="plugin", backend="only-here")
    requests = [_request(spec, f"q {i}", GenerateConfig()) for i in range(3)]
    with RunStore(tmp_path / "p.sqlite") as store, using_cluster(RayCluster(2, 0, False, "test")):
        run_id = store.start_run("plugin", "test", {})
        with pytest.raises(BackendError) as failure:
            run_requests(store, run_id, "generate", requests, show_progress=False)
        assert store.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 0
    message = str(failure.value)
    assert "\n" not in message and "'plugin' on the Ray cluster" in message and "only-here" in message
