"""Backends registered by name; each backend's module is imported only when it is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from culturalign.errors import BackendError
from culturalign.models.base import ModelBackend, ModelSpec
from culturalign.models.options import BackendOptions, register_options
from culturalign.models.redact import remember_env

BackendFactory = Callable[[ModelSpec], ModelBackend]

# name -> "module:attribute"; the import is deferred so that `openai`, `llama_cpp` and `vllm`
# load only for the runs that use them.
_LAZY: dict[str, str] = {
    "mock": "culturalign.models.mock:MockBackend",
    "openai": "culturalign.models.openai_backend:OpenAIBackend",
    "llamacpp": "culturalign.models.llamacpp_backend:LlamaCppBackend",
    "vllm": "culturalign.models.vllm_backend:VLLMBackend",
}
_FACTORIES: dict[str, BackendFactory] = {}
# The answer modes each backend can serve (free text; `choices`; `score_choices`), known
# without importing or building it, so that a run is refused before any call.
ALL_MODES = frozenset({"free", "constrained", "scored"})
_MODES: dict[str, frozenset[str]] = {
    "mock": ALL_MODES,
    "openai": ALL_MODES,  # scored needs a server that returns logprobs: checked on the first answer
    "llamacpp": ALL_MODES,
    "vllm": frozenset({"free", "constrained"}),
}

# Judges only: an offline stance judge (judge/candidates, e.g. model = "lexicon"), run in
# this process without any model call. Not a model backend: `get_backend` refuses it.
OFFLINE_JUDGE_BACKEND = "offline"


def register_backend(
    name: str,
    factory: BackendFactory,
    options_model: type[BackendOptions] | None = None,
    answer_modes: frozenset[str] | None = None,
) -> None:
    """Add a backend; with `options_model` its `options` table is checked like the built-in ones';
    `answer_modes` says which answer modes it serves (default: free text only)."""
    _FACTORIES[name] = factory
    _MODES[name] = frozenset(answer_modes or {"free"})
    if options_model is not None:
        register_options(name, options_model)


def answer_modes(backend: str) -> frozenset[str]:
    """The answer modes a backend serves (only free text for one registered without saying)."""
    return _MODES.get(backend, frozenset({"free"}))


def known_backends() -> list[str]:
    return sorted(set(_LAZY) | set(_FACTORIES))


def get_backend(spec: ModelSpec) -> ModelBackend:
    remember_env(spec.api_key_env)  # from here on, the key is masked in every stored or printed text
    if spec.backend in _FACTORIES:
        return _FACTORIES[spec.backend](spec)
    target = _LAZY.get(spec.backend)
    if spec.backend == OFFLINE_JUDGE_BACKEND:
        raise BackendError(
            f"model {spec.name!r}: backend {OFFLINE_JUDGE_BACKEND!r} is for [[judges]] only (an offline stance judge); "
            f"use one of {', '.join(known_backends())}"
        )
    if target is None:
        hint = ""
        if spec.backend == "embedded":
            hint = (
                '; the embedded Gemma 3 270M is backend = "llamacpp" with `model` unset, '
                f'and an offline judge is backend = "{OFFLINE_JUDGE_BACKEND}"'
            )
        raise BackendError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; use one of {', '.join(known_backends())}{hint}"
        )
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(
            f"model {spec.name!r}: backend {spec.backend!r} needs a package that is not installed ({exc.name}); "
            f"install it, e.g. pip install 'culturalign[{spec.backend}]'"
        ) from None
    return getattr(module, attr)(spec)
