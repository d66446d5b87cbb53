"""Offline stance judges that need no server: the candidates for the embedded default.

Each candidate labels a batch of StanceTasks and returns one JudgeVerdict per task. They
are compared on the hand-labelled reference set (bench/judge_candidates.py); which one
is the default, and how well it did, is data (data/judge/default.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from culturalign.errors import UserError
from culturalign.judge.stance import JudgeVerdict, StanceTask


class Candidate(Protocol):
    name: str

    def judge_tasks(self, tasks: Sequence[StanceTask]) -> list[JudgeVerdict]: ...


def _always(label: str) -> Callable[[], Candidate]:
    def make() -> Candidate:
        from culturalign.probes.wvs.judge.candidates.baseline import ConstantJudge

        return ConstantJudge(label)

    return make


def _lexicon() -> Candidate:
    from culturalign.probes.wvs.judge.candidates.lexicon import LexiconJudge

    return LexiconJudge()


def _gemma() -> Candidate:
    from culturalign.probes.wvs.judge.candidates.logits import LogitJudge, gemma_270m_path

    return LogitJudge("gemma-270m-fewshot", gemma_270m_path())


def _smollm() -> Candidate:
    from culturalign.probes.wvs.judge.candidates.logits import LogitJudge, smollm2_path

    return LogitJudge("smollm2-135m-fewshot", smollm2_path())


def _minilm() -> Candidate:
    from culturalign.probes.wvs.judge.candidates.embedding import EmbeddingJudge

    return EmbeddingJudge()


CANDIDATES: dict[str, Callable[[], Candidate]] = {
    "always-con": _always("con"),
    "always-pro": _always("pro"),
    "lexicon": _lexicon,
    "gemma-270m-fewshot": _gemma,
    "smollm2-135m-fewshot": _smollm,
    "minilm-similarity": _minilm,
}


def known_candidates() -> list[str]:
    return list(CANDIDATES)


def get_candidate(name: str) -> Candidate:
    factory = CANDIDATES.get(name)
    if factory is None:
        raise UserError(
            f"unknown judge candidate {name!r}; use one of {', '.join(CANDIDATES)} or a model from --experiment"
        )
    return factory()
