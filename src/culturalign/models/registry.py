"""Backends by name: the built-ins and any installed plugin's, through the `culturalign.backends`
entry points (culturalign.plugins). A backend's module is imported only when a model uses it, so
`openai`, `llama_cpp` and `vllm` load only for the runs that need them."""

from __future__ import annotations

from collections.abc import Callable

from culturalign.errors import BackendError
from culturalign.models.base import ModelBackend, ModelSpec
from culturalign.models.options import BackendOptions, register_options
from culturalign.plugins import BACKENDS, plugin_entry_points
from culturalign.redact import remember_env

BackendFactory = Callable[[ModelSpec], ModelBackend]

# Factories registered in code (tests, notebooks); they win over entry points of the same name.
_FACTORIES: dict[str, BackendFactory] = {}
# The extra that carries a backend's packages, where it differs from the backend's name.
_EXTRA = {"llamacpp": "embedded"}
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
    return sorted(set(plugin_entry_points(BACKENDS)) | set(_FACTORIES))


def get_backend(spec: ModelSpec) -> ModelBackend:
    remember_env(spec.api_key_env)  # from here on, the key is masked in every stored or printed text
    if spec.backend in _FACTORIES:
        return _FACTORIES[spec.backend](spec)
    entry = plugin_entry_points(BACKENDS).get(spec.backend)
    if spec.backend == OFFLINE_JUDGE_BACKEND:
        raise BackendError(
            f"model {spec.name!r}: backend {OFFLINE_JUDGE_BACKEND!r} is for [[judges]] only (an offline stance judge); "
            f"use one of {', '.join(known_backends())}"
        )
    if entry is None:
        hint = ""
        if spec.backend == "embedded":
            hint = (
                '; the embedded Gemma 3 270M is backend = "llamacpp" with `model` unset, '
                f'and an offline judge is backend = "{OFFLINE_JUDGE_BACKEND}"'
            )
        raise BackendError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; use one of {', '.join(known_backends())}{hint}"
        )
    try:
        factory = entry.load()
    except ImportError as exc:
        extra = _EXTRA.get(spec.backend, spec.backend)
        raise BackendError(
            f"model {spec.name!r}: backend {spec.backend!r} needs a package that is not installed ({exc.name}); "
            f"install it with python -m pip install 'culturalign[{extra}]'"
        ) from None
    if not callable(factory):
        raise BackendError(f"model {spec.name!r}: the plugin entry point {entry.value} is not a backend factory")
    backend = factory(spec)
    if not isinstance(backend, ModelBackend):
        raise BackendError(f"model {spec.name!r}: {entry.value} made a {type(backend).__name__}, not a ModelBackend")
    return backend
