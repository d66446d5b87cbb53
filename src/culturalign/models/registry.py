"""Backends registered by name; each backend's module is imported only when it is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from culturalign.errors import BackendError
from culturalign.models.base import ModelBackend, ModelSpec
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


def register_backend(name: str, factory: BackendFactory) -> None:
    _FACTORIES[name] = factory


def known_backends() -> list[str]:
    return sorted(set(_LAZY) | set(_FACTORIES))


def get_backend(spec: ModelSpec) -> ModelBackend:
    remember_env(spec.api_key_env)  # from here on, the key is masked in every stored or printed text
    if spec.backend in _FACTORIES:
        return _FACTORIES[spec.backend](spec)
    target = _LAZY.get(spec.backend)
    if target is None:
        raise BackendError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; use one of {', '.join(known_backends())}"
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
