"""Answer modes of the multiple-choice probes (`vsm`, `statements`), set per model:

- free: the model writes text and the answer is read out of it (the papers' protocol);
- constrained: the output is restricted to the valid options (a grammar, guided choice or an
  enum schema, whichever the backend offers);
- scored: nothing is generated; each option's log-probability as a continuation of the prompt
  is read, giving a full answer distribution per item.

The mode travels in the request's parameters (`choices` / `score_choices`), so the same prompt
in two modes has two store keys. See docs/answer-modes.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from culturalign.errors import BackendError, ConfigError
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.models.registry import answer_modes
from culturalign.models.retry import NO_LOGPROBS

if TYPE_CHECKING:
    import polars as pl

    from culturalign.store.db import RunStore

AnswerMode = Literal["free", "constrained", "scored"]
MODES: tuple[str, ...] = ("free", "constrained", "scored")


def mode_of(settings: Any, model: ModelSpec | str) -> str:
    """The model's answer mode: its entry in `answer_modes`, else the probe's `answer_mode`."""
    name = model if isinstance(model, str) else model.name
    return settings.answer_modes.get(name, settings.answer_mode)


def modes_by_model(settings: Any, models: Iterable[ModelSpec]) -> dict[str, str]:
    return {m.name: mode_of(settings, m) for m in models}


def check_modes(settings: Any, models: Sequence[ModelSpec], probe: str) -> None:
    """One-line ConfigError, before any call, for a mode given to an unknown model or one its backend cannot serve."""
    names = {m.name for m in models}
    unknown = sorted(set(settings.answer_modes) - names)
    if unknown:
        raise ConfigError(
            f"[{probe}] answer_modes names {', '.join(repr(u) for u in unknown)}, which is not a model of the "
            f"experiment; use one of {', '.join(sorted(names))}"
        )
    for model in models:
        mode = mode_of(settings, model)
        served = answer_modes(model.backend)
        if mode not in served:
            hint = (
                ' (serve it with `vllm serve` and use backend = "openai", which reads logprobs)'
                if model.backend == "vllm" and mode == "scored"
                else ""
            )
            raise ConfigError(
                f"model {model.name!r}: backend {model.backend!r} cannot answer in mode {mode!r}; it serves "
                f"{', '.join(m for m in MODES if m in served)}{hint}; set answer_modes = {{ {model.name!r} = ... }} in [{probe}]"
            )


def check_options(options: Sequence[str], where: str) -> None:
    """Options a constrained or scored question chooses between must be distinct, non-empty texts."""
    texts = [o.strip() if isinstance(o, str) else "" for o in options]
    if len(texts) < 2 or any(not t for t in texts):
        raise ConfigError(
            f"{where}: an answer option has no text, so it cannot be constrained to or scored; give every option "
            'its label, or use answer_mode = "free"'
        )
    if len(set(texts)) < len(texts):
        raise ConfigError(f"{where}: two answer options have the same text ({', '.join(texts)}); make them distinct")


def mode_params(mode: str, options: Sequence[str]) -> GenerateConfig | None:
    """The parameters that put a request in `mode` (None for free text)."""
    if mode == "constrained":
        return GenerateConfig(choices=list(options))
    if mode == "scored":
        return GenerateConfig(score_choices=list(options))
    return None


def distribution(logprobs: dict[str, float | None]) -> dict[str, float] | None:
    """Probabilities over the options (renormalised: they sum to 1); options without a
    log-probability get 0. None when no option has one."""
    known = {k: v for k, v in logprobs.items() if v is not None and math.isfinite(v)}
    if not known:
        return None
    top = max(known.values())
    weights = {k: (math.exp(known[k] - top) if k in known else 0.0) for k in logprobs}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def expected_value(probs: dict[str, float], values: dict[str, float]) -> float:
    return sum(p * values[k] for k, p in probs.items())


def entropy_bits(probs: dict[str, float]) -> float:
    """Shannon entropy in bits: 0 for a certain answer, log2(k) for k equally likely options."""
    return -sum(p * math.log2(p) for p in probs.values() if p > 0)


def raise_on_unserved(store: RunStore, run_id: str, stage: str) -> None:
    """A server that returned no logprobs ends the stage with its one-line reason (exit 2)."""
    calls = store.requests(run_id, stage)
    if calls.is_empty() or "error" not in calls.columns:
        return
    for error in calls["error"].drop_nulls().to_list():
        if str(error).startswith(NO_LOGPROBS):
            raise BackendError(str(error).removeprefix(f"{NO_LOGPROBS}: "))


def is_tiny(model: ModelSpec) -> bool:
    """The embedded Gemma 3 270M: reports label its numbers as a tiny base model's."""
    from culturalign.models.llamacpp_backend import EMBEDDED_NAMES

    return model.backend == "llamacpp" and (model.model is None or model.model in EMBEDDED_NAMES)


def with_answer_modes(df: pl.DataFrame, modes: dict[str, str]) -> pl.DataFrame:
    """Every table says how its answers were asked: per model where it has a model column,
    else the modes of all models behind it."""
    import polars as pl

    if df.is_empty() and not df.columns:
        return df
    if "model" in df.columns:
        if "answer_mode" in df.columns:
            return df
        return df.with_columns(pl.col("model").replace_strict(modes, default=None).alias("answer_mode"))
    return df.with_columns(pl.lit("+".join(sorted(set(modes.values())))).alias("answer_modes"))
