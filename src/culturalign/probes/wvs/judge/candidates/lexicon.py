"""A cue-word stance judge: counts approving and rejecting words in each summary.

It knows nothing about the topic beyond the orientation of the item: the same lexicon
scores the item's pro and con statements, and when the con statement reads as the more
approving one, approval of the topic counts as "con". Crude by design: it is the floor a
model-based judge must clear, and the offline fallback when nothing else runs.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass

from culturalign.judge.stance import JudgeVerdict, StanceTask, labels_from_counts
from culturalign.paths import package_data
from culturalign.probes.wvs.judge.totals import parse_totals

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class _Lexicon:
    positive: tuple[tuple[str, ...], ...]
    negative: tuple[tuple[str, ...], ...]
    negators: frozenset[str]


@functools.cache
def _load() -> tuple[int, dict[str, _Lexicon]]:
    data = tomllib.loads(package_data("judge", "lexicon.toml").read_text(encoding="utf-8"))
    window = int(data.pop("negation_window"))
    lexicons = {
        code: _Lexicon(
            positive=tuple(tuple(s.lower().split()) for s in entry["positive"]),
            negative=tuple(tuple(s.lower().split()) for s in entry["negative"]),
            negators=frozenset(w.lower() for w in entry["negators"]),
        )
        for code, entry in data.items()
    }
    return window, lexicons


def polarity(text: str, language: str) -> int:
    """Approving minus rejecting cues, each flipped by a negator shortly before it."""
    window, lexicons = _load()
    lexicon = lexicons.get(language) or lexicons["en"]
    words = _WORD.findall(text.lower().replace("n't", " n't"))
    score = 0
    for i in range(len(words)):
        sign = _cue_sign(words, i, lexicon)
        if sign == 0:
            continue
        if any(w in lexicon.negators for w in words[max(0, i - window) : i]):
            sign = -sign
        score += sign
    return score


def _cue_sign(words: list[str], i: int, lexicon: _Lexicon) -> int:
    # Negative stems first: "unjustif" must win over "justif", "unfair" over "fair".
    for sign, stems in ((-1, lexicon.negative), (1, lexicon.positive)):
        for stem in stems:
            if len(stem) == 1:
                if words[i].startswith(stem[0]):
                    return sign
            elif (
                tuple(words[i : i + len(stem) - 1]) == stem[:-1]
                and i + len(stem) - 1 < len(words)
                and words[i + len(stem) - 1].startswith(stem[-1])
            ):
                return sign
    return 0


def approval_means_pro(task: StanceTask) -> bool:
    """True unless the con statement reads as more approving than the pro statement."""
    return polarity(task.pro_statement, "en") >= polarity(task.con_statement, "en")


class LexiconJudge:
    name = "lexicon"

    def judge_tasks(self, tasks: Sequence[StanceTask]) -> list[JudgeVerdict]:
        return [self.judge_one(task) for task in tasks]

    def judge_one(self, task: StanceTask) -> JudgeVerdict:
        if not task.summaries:
            totals = parse_totals(task.response_text, task.language) if task.response_text else None
            if totals is None or totals.total == 0:
                return JudgeVerdict(failure="no summaries")
            return JudgeVerdict(labels=labels_from_counts(totals.n_pro, totals.n_con, totals.n_null))
        approving = "pro" if approval_means_pro(task) else "con"
        rejecting = "con" if approving == "pro" else "pro"
        labels = []
        for summary in task.summaries:
            score = polarity(summary, task.language)
            labels.append(approving if score > 0 else rejecting if score < 0 else "null")
        return JudgeVerdict(labels=tuple(labels))
