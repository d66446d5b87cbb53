"""The narrow contract every backend honours.

A backend turns a list of chat messages plus generation parameters into a ModelOutput.
It never raises for a failed call: the failure goes into ModelOutput.error, so that the
engine can store it beside the request. Heavy imports (openai, llama_cpp, vllm) happen
inside the backend's own module, only when that backend is used.
"""

from __future__ import annotations

import abc
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class GenerateConfig(BaseModel):
    """Generation parameters; every field that is set changes the request's store key."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, gt=0, le=1_048_576)
    seed: int | None = None
    stop: list[str] | None = None
    # JSON schema the answer must follow: structured output on OpenAI-compatible servers,
    # a grammar on llama.cpp. None means free text.
    json_schema: dict[str, Any] | None = None
    # Answer modes (the probes' `constrained` and `scored`): `choices` restricts the answer to
    # exactly one of these strings; `score_choices` asks for no text at all but the
    # log-probability of each string as a continuation of the prompt (see ModelOutput.choice_logprobs).
    choices: list[str] | None = Field(default=None, min_length=2)
    score_choices: list[str] | None = Field(default=None, min_length=2)

    def merged(self, override: GenerateConfig | None) -> GenerateConfig:
        """These parameters with every field set in `override` taking precedence."""
        if override is None:
            return self
        data = self.model_dump(exclude_none=True)
        data.update(override.model_dump(exclude_none=True))
        return GenerateConfig(**data)


class ModelSpec(BaseModel):
    """One model as an experiment names it: which backend, which weights, which limits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="label used in results, e.g. gemma-2-9b-it")
    backend: str = Field(description="openai, llamacpp, vllm or mock")
    model: str | None = Field(
        default=None,
        description="backend model id or GGUF path; defaults to `name`. llamacpp: unset (or one of the names in "
        "llamacpp_backend.EMBEDDED_NAMES, e.g. gemma-3-270m) means the embedded Gemma 3 270M",
    )
    family: str | None = None
    origin: str | None = Field(default=None, description="who made it, e.g. US or CN (group comparisons)")
    base_url: str | list[str] | None = Field(
        default=None, description="server address; a list spreads requests over several replicas"
    )
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    prompt_style: Literal["chat", "completion"] = Field(
        default="chat", description="completion renders messages as plain text, for base models"
    )
    max_concurrency: int = Field(default=8, ge=1, le=1024)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0, le=86_400)
    max_retries: int = Field(default=6, ge=0, le=50)
    price_input_per_mtok: float | None = Field(default=None, ge=0, description="USD per million input tokens")
    price_output_per_mtok: float | None = Field(default=None, ge=0, description="USD per million output tokens")
    batch_price_factor: float = Field(
        default=0.5, gt=0, le=1, description="Batch API price as a share of the synchronous price (OpenAI: half)"
    )
    batch: bool = Field(
        default=False, description="send this model's requests through the provider's Batch API (backend openai)"
    )
    params: GenerateConfig = Field(default_factory=GenerateConfig)
    options: dict[str, Any] = Field(
        default_factory=dict, description="backend-specific settings, checked by the backend's model in options.py"
    )

    @field_validator("options")
    @classmethod
    def _known_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from culturalign.models.options import check_options

        backend = info.data.get("backend")
        if isinstance(backend, str):
            check_options(backend, value)
        return value

    @model_validator(mode="after")
    def _batch_needs_openai(self) -> ModelSpec:
        if self.batch and self.backend != "openai":
            raise ValueError(f"batch = true needs backend 'openai' (a Batch API), not {self.backend!r}")
        if self.batch and isinstance(self.base_url, list) and len(self.base_url) > 1:
            raise ValueError("batch = true takes one base_url (the provider's), not a list")
        return self

    @field_validator("base_url")
    @classmethod
    def _endpoints_listed_once(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("base_url is an empty list; give one address or several")
            repeated = sorted({u for u in value if value.count(u) > 1})
            if repeated:
                raise ValueError(f"base_url lists {repeated[0]} more than once")
        return value

    @property
    def base_urls(self) -> list[str | None]:
        """Every endpoint of this model, in the order given (one None: the provider's default)."""
        if isinstance(self.base_url, list):
            return list(self.base_url)
        return [self.base_url]

    @property
    def model_id(self) -> str:
        return self.model or self.name

    def cost_usd(self, tokens_in: float, tokens_out: float) -> float | None:
        """What these tokens cost at the configured prices (None when no price is set)."""
        if self.price_input_per_mtok is None and self.price_output_per_mtok is None:
            return None
        return (tokens_in * (self.price_input_per_mtok or 0.0) + tokens_out * (self.price_output_per_mtok or 0.0)) / 1e6

    def identity(self) -> dict[str, Any]:
        """What about this model changes its answers (hashed into the store key)."""
        return {
            "backend": self.backend,
            "model": self.model_id,
            "prompt_style": self.prompt_style,
            "options": {k: v for k, v in sorted(self.options.items()) if k not in _NON_OUTPUT_OPTIONS},
        }


# Options that change speed or placement but never the text a model writes.
_NON_OUTPUT_OPTIONS = frozenset(
    {
        "n_threads",
        "verbose",
        "port",
        "host",
        "retry_base_s",
        "retry_cap_s",
        "max_batch",
        "batch_wait_s",
        "http_client",
        "batch_poll_s",
        "batch_max_requests",
        "batch_max_bytes",
        "batch_completion_window",
    }
)


class ModelOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float = 0.0
    retries: int = 0
    error: str | None = None
    finish_reason: str | None = None
    # For a `score_choices` request: each choice's log-probability (None where the server did
    # not report it). The same mapping is the answer's text, as JSON, so that the store keeps it.
    choice_logprobs: dict[str, float | None] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def scored_output(logprobs: dict[str, float | None], **fields: Any) -> ModelOutput:
    """The answer to a `score_choices` request: the log-probabilities, also written as its text."""
    text = json.dumps({"choice_logprobs": logprobs}, ensure_ascii=False, sort_keys=True)
    return ModelOutput(text=text, choice_logprobs=logprobs, **fields)


def read_choice_logprobs(text: str | None) -> dict[str, float | None] | None:
    """The log-probabilities a scored answer's text holds, or None when it holds none."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    found = data.get("choice_logprobs") if isinstance(data, dict) else None
    if not isinstance(found, dict) or not all(v is None or isinstance(v, int | float) for v in found.values()):
        return None
    return {str(k): (None if v is None else float(v)) for k, v in found.items()}


class ModelBackend(abc.ABC):
    """One model behind one backend. Instances are created by registry.get_backend."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @abc.abstractmethod
    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        """Answer one request; failures are returned in ModelOutput.error, never raised."""

    @property
    def capacity(self) -> int:
        """How many requests the runner may have in flight on this model at once."""
        return self.spec.max_concurrency

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Per-endpoint counts, for backends that spread requests over several (else empty)."""
        return []

    async def check(self) -> None:
        """Raise BackendError with a one-line reason if the backend cannot work (before a run starts)."""

    async def aclose(self) -> None:
        """Release connections, threads or weights."""


_OPEN_LIST_ITEM = re.compile(r"(?:^|\n)[ \t]*\d{1,2}[.)]$")


def render_completion_prompt(messages: list[ChatMessage]) -> str:
    """Messages as one plain-text prompt, for base models that have no chat template.

    A prompt that already opens the answer (ends in "1." so the model continues a list) is left
    exactly there; anything else gets a blank line, where a base model starts its answer."""
    parts = [m.content.strip() for m in messages if m.role in ("system", "user")]
    text = "\n\n".join(p for p in parts if p)
    return text if _OPEN_LIST_ITEM.search(text) else text + "\n\n"
