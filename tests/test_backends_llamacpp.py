"""The embedded llamacpp backend, and the openai backend against llama-cpp-python's real
OpenAI-compatible server serving the same embedded model."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import Iterator

import pytest

from culturalign.errors import BackendError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.llamacpp_backend import disable_extra_buffer_types, embedded_model_path
from culturalign.models.registry import get_backend
from servers.llama_server import LlamaServer

YES_NO = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"]}


def _ask(spec: ModelSpec, text: str, config: GenerateConfig):
    async def go():
        backend = get_backend(spec)
        try:
            return await backend.generate([ChatMessage(role="user", content=text)], config)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_default_model_params_never_use_extra_buffer_types() -> None:
    import llama_cpp

    disable_extra_buffer_types()
    disable_extra_buffer_types()  # idempotent: wrapping twice must not stack
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is False
    assert llama_cpp.llama_model_default_params().use_extra_bufts is False


def test_missing_gguf_is_a_one_line_backend_error(tmp_path) -> None:
    spec = ModelSpec(name="x", backend="llamacpp", model=str(tmp_path / "absent.gguf"))
    with pytest.raises(BackendError, match="absent.gguf not found"):
        get_backend(spec)


def test_embedded_weights_are_reassembled_only_when_needed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CULTURALIGN_MODEL_CACHE", str(tmp_path))
    get_backend(ModelSpec(name="gemma-3-270m", backend="llamacpp", prompt_style="completion"))
    assert list(tmp_path.iterdir()) == []  # building the backend (e.g. for a dry run) wrote nothing


def test_vllm_without_vllm_installed_is_a_one_line_backend_error() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here; this test is about machines without it")
    with pytest.raises(BackendError, match="vllm") as caught:
        get_backend(ModelSpec(name="big", backend="vllm", model="some/model"))
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_embedded_model_completes_a_few_tokens() -> None:
    """A real completion from Gemma 3 270M: on an AMX CPU this crashes without the fix."""
    spec = ModelSpec(name="gemma-3-270m", backend="llamacpp", prompt_style="completion")
    out = _ask(spec, "Three colours of the rainbow:\n1.", GenerateConfig(max_tokens=8, temperature=0.0, seed=1))
    assert out.ok, out.error
    assert out.text.strip() and out.output_tokens and 0 < out.output_tokens <= 8
    assert out.input_tokens and out.input_tokens > 3


@pytest.mark.slow
def test_embedded_model_follows_a_json_schema_grammar() -> None:
    spec = ModelSpec(name="gemma-3-270m", backend="llamacpp", prompt_style="completion")
    config = GenerateConfig(max_tokens=24, temperature=0.0, seed=1, json_schema=YES_NO)
    out = _ask(spec, "Is water wet? Answer in JSON.", config)
    assert out.ok, out.error
    assert json.loads(out.text)["answer"] in ("yes", "no")


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    with LlamaServer(embedded_model_path()) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("style", ["completion", "chat"])
def test_openai_backend_against_real_llama_server(llama_server: LlamaServer, style: str) -> None:
    spec = ModelSpec(
        name="gemma-served",
        backend="openai",
        model="gemma-3-270m",
        base_url=llama_server.base_url,
        prompt_style=style,
        timeout_s=60,
        max_retries=1,
    )
    asyncio.run(get_backend(spec).check())
    out = _ask(spec, "Three colours of the rainbow:\n1.", GenerateConfig(max_tokens=6, temperature=0.0, seed=1))
    assert out.ok, out.error
    assert out.text and out.output_tokens and 0 < out.output_tokens <= 6 and out.input_tokens


@pytest.mark.slow
def test_openai_backend_structured_output_on_real_llama_server(llama_server: LlamaServer) -> None:
    spec = ModelSpec(
        name="gemma-served",
        backend="openai",
        model="gemma-3-270m",
        base_url=llama_server.base_url,
        timeout_s=60,
        max_retries=1,
    )
    config = GenerateConfig(max_tokens=24, temperature=0.0, seed=1, json_schema=YES_NO)
    out = _ask(spec, "Is water wet? Answer in JSON.", config)
    assert out.ok, out.error
    assert json.loads(out.text)["answer"] in ("yes", "no")
