"""Scoring answer options with llama-cpp-python: the log-probability of each option as a
continuation of the prompt, summed over the option's tokens (the way lm-evaluation-harness
scores multiple-choice tasks).

llama-cpp-python keeps logits in `Llama.scores` only for models loaded with logits_all=True,
which costs memory for every position; here the model is loaded as for generation and the
last position's logits are read from the context after each evaluation. The prompt is
evaluated once (reusing the cached prefix of the previous request), then each option's tokens
one at a time, rolling the cache back to the prompt between options.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from culturalign.errors import BackendError
from culturalign.models.base import ModelOutput, scored_output


def _last_logprobs(model: Any) -> np.ndarray:
    logits = np.ctypeslib.as_array(model._ctx.get_logits_ith(-1), shape=(model.n_vocab(),)).astype(np.float64)
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())


def _evaluate_prompt(model: Any, tokens: list[int]) -> np.ndarray:
    """Evaluate the prompt, keeping the longest prefix already in the cache; the next-token log-probabilities."""
    cached = model.input_ids[: model.n_tokens].tolist()
    keep = 0
    for a, b in zip(cached, tokens, strict=False):
        if a != b:
            break
        keep += 1
    keep = min(keep, len(tokens) - 1)  # the last prompt token is evaluated again for its logits
    model.n_tokens = keep
    model.eval(tokens[keep:])
    return _last_logprobs(model)


def score_choices(model: Any, prompt: str, choices: list[str]) -> ModelOutput:
    prompt_tokens = model.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    option_tokens = [model.tokenize(c.encode("utf-8"), add_bos=False, special=False) for c in choices]
    if any(not t for t in option_tokens):
        raise BackendError("an answer option is empty after tokenisation; give every option some text")
    if len(prompt_tokens) + max(map(len, option_tokens)) > model.n_ctx():
        raise ValueError(f"prompt of {len(prompt_tokens)} tokens does not fit the context of {model.n_ctx()}")
    first = _evaluate_prompt(model, prompt_tokens)
    end_of_prompt = model.n_tokens
    logprobs: dict[str, float | None] = {}
    for choice, tokens in zip(choices, option_tokens, strict=True):
        total, step = 0.0, first
        for i, token in enumerate(tokens):
            total += float(step[token])
            if i + 1 < len(tokens):
                model.eval([token])
                step = _last_logprobs(model)
        model.n_tokens = end_of_prompt  # roll back: the next option continues the prompt again
        logprobs[choice] = total
    return scored_output(logprobs, input_tokens=len(prompt_tokens), output_tokens=0, finish_reason="scored")


def chat_prompt(model: Any, messages: list[dict[str, str]]) -> str:
    """The conversation through the GGUF's own chat template, ending where the assistant's answer starts."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = (model.metadata or {}).get("tokenizer.chat_template")
    if not template:
        raise BackendError(
            'this GGUF has no chat template; use prompt_style = "completion" to score its answer options'
        )
    vocab = model._model
    eos = model.detokenize([vocab.token_eos()]).decode("utf-8", "replace")
    bos = model.detokenize([vocab.token_bos()]).decode("utf-8", "replace")
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    text = formatter(messages=messages).prompt
    # The tokenizer adds BOS itself: drop a leading BOS text the template wrote.
    return text[len(bos) :] if bos and text.startswith(bos) else text
