"""Each backend's `options` table as a typed model: a misspelt option is an error, not a new cache key.

The options stay in `ModelSpec.options` exactly as the user wrote them (the store key hashes
that dict, so validating here changes no key); these models only check names, types and
ranges. A backend registered from outside (`registry.register_backend`) may pass its own
model; without one its options are not checked.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class BackendOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MockOptions(BackendOptions):
    """The mock backend (tests and dry checks): deterministic answers from the prompt's words."""

    mode: Literal["auto", "list", "choice", "json", "echo"] = "auto"
    items: int = Field(default=10, ge=1, le=1000, description="list mode: how many list entries")
    choices: int = Field(default=5, ge=1, le=1000, description="choice mode: answer a number 1..choices")
    seed: int = 0
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share of calls that fail")
    latency_s: float = Field(default=0.0, ge=0.0, le=600.0, description="seconds each call waits")


class OpenAIOptions(BackendOptions):
    """Any OpenAI-compatible server."""

    retry_base_s: float = Field(default=0.5, gt=0, le=600, description="first retry wait")
    retry_cap_s: float = Field(default=30.0, gt=0, le=3600, description="longest retry wait")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="extra JSON fields sent with every request")
    http_client: Literal["auto", "direct", "aiohttp", "httpx"] = "auto"
    batch_poll_s: float = Field(default=30.0, gt=0, le=86_400, description="Batch API: seconds between polls")
    batch_max_requests: int = Field(default=50_000, ge=1, le=50_000, description="Batch API: requests per batch")
    batch_max_bytes: int = Field(
        default=190 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024, description="Batch API: input file size per batch"
    )
    batch_completion_window: Literal["24h"] = Field(default="24h", description="Batch API: completion window")


class LlamaCppOptions(BackendOptions):
    """llama-cpp-python in this process (the embedded Gemma 3 270M, or any GGUF file)."""

    n_ctx: int = Field(default=2048, ge=128, le=1_048_576, description="context window in tokens")
    n_threads: int = Field(default=2, ge=1, le=1024, description="CPU threads")
    default_max_tokens: int = Field(default=512, ge=1, le=1_048_576, description="when params.max_tokens is unset")


class VLLMOptions(BackendOptions):
    """vLLM offline, in this process (GPU machines)."""

    engine: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for vllm.LLM")
    max_batch: int = Field(default=256, ge=1, le=100_000, description="requests per batch")
    batch_wait_s: float = Field(default=0.05, ge=0, le=60, description="how long a batch waits to fill")


OPTION_MODELS: dict[str, type[BackendOptions]] = {
    "mock": MockOptions,
    "openai": OpenAIOptions,
    "llamacpp": LlamaCppOptions,
    "vllm": VLLMOptions,
}


def register_options(backend: str, model: type[BackendOptions]) -> None:
    OPTION_MODELS[backend] = model


def check_options(backend: str, options: dict[str, Any]) -> None:
    """Raise ValueError with one line naming the first bad option (and the nearest valid name)."""
    model = OPTION_MODELS.get(backend)
    if model is None:
        return
    try:
        model(**options)
    except ValidationError as exc:
        raise ValueError(describe_option_error(backend, model, exc)) from None


def describe_option_error(backend: str, model: type[BackendOptions], exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    valid = sorted(model.model_fields)
    if first["type"] == "extra_forbidden":
        near = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return f"unknown {backend} option {name!r}; {hint}valid options: {', '.join(valid)}"
    message = first["msg"].removeprefix("Value error, ")
    return f"{backend} option {name!r}: {message}"
