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

from culturalign.errors import UserError
from culturalign.judge.stance import JudgeVerdict, StanceTask, labels_from_counts
from culturalign.paths import package_data
from culturalign.probes.wvs.judge.totals import parse_totals

# A word: letters plus the combining vowel signs and viramas of the Indic scripts, Arabic
# vowel marks and the zero-width non-joiner inside Persian words (re's \w leaves them out).
_LETTER = r"(?:[^\W\d_]|[\u0900-\u0dff\u064b-\u065f\u0670\u200c])"
_WORD = re.compile(rf"{_LETTER}+(?:'{_LETTER}+)?")


@dataclass(frozen=True)
class _Lexicon:
    positive: tuple[tuple[str, ...], ...]
    negative: tuple[tuple[str, ...], ...]
    negators: frozenset[str]
    # Scripts without spaces (zh, ja, th) match cues as substrings, counted in characters.
    unspaced: bool = False
    # Where a negator stands: "before" the cue (English "not good"), "after" it (Korean
    # 좋지 않다, Hindi अच्छा नहीं) or on "both" sides.
    negation: str = "before"
    negator_stems: bool = False  # negators are stems too (Korean 않다, 않아요, 않았다)


@functools.cache
def _load() -> tuple[int, dict[str, _Lexicon]]:
    data = tomllib.loads(package_data("judge", "lexicon.toml").read_text(encoding="utf-8"))
    window = int(data.pop("negation_window"))
    lexicons = {
        code: _Lexicon(
            positive=tuple(tuple(s.lower().split()) for s in entry["positive"]),
            negative=tuple(tuple(s.lower().split()) for s in entry["negative"]),
            negators=frozenset(w.lower() for w in entry["negators"]),
            unspaced=bool(entry.get("unspaced", False)),
            negation=str(entry.get("negation", "before")),
            negator_stems=bool(entry.get("negator_stems", False)),
        )
        for code, entry in data.items()
    }
    return window, lexicons


def cue_languages() -> list[str]:
    """The languages this judge has cue lists for."""
    return sorted(_load()[1])


def require_cue_lists(languages: Sequence[str]) -> None:
    """A one-line error, before anything is asked, when a language has no cue list."""
    missing = [lang for lang in languages if lang not in _load()[1]]
    if missing:
        raise UserError(
            f"no cue list: the judge lexicon cannot label {missing[0]} answers; add a [{missing[0]}] table to "
            f"data/judge/lexicon.toml (see docs/adding-a-language.md) or name a model judge in [[judges]]"
        )


def polarity(text: str, language: str) -> int:
    """Approving minus rejecting cues, each flipped by a negator shortly before (or after) it."""
    window, lexicons = _load()
    lexicon = lexicons.get(language) or lexicons["en"]
    if lexicon.unspaced:
        return _unspaced_polarity(text.lower(), lexicon, window)
    words = _WORD.findall(text.lower().replace("n't", " n't"))
    score = 0
    for i in range(len(words)):
        sign = _cue_sign(words, i, lexicon)
        if sign == 0:
            continue
        if _negated(words, i, lexicon, window):
            sign = -sign
        score += sign
    return score


def _is_negator(word: str, lexicon: _Lexicon) -> bool:
    if lexicon.negator_stems:
        return any(word.startswith(n) for n in lexicon.negators)
    return word in lexicon.negators


def _negated(words: list[str], i: int, lexicon: _Lexicon, window: int) -> bool:
    before = words[max(0, i - window) : i] if lexicon.negation in ("before", "both") else []
    after = words[i + 1 : i + 1 + window] if lexicon.negation in ("after", "both") else []
    return any(_is_negator(w, lexicon) for w in (*before, *after))


def _unspaced_polarity(text: str, lexicon: _Lexicon, window: int) -> int:
    """Cues as substrings, longest first at each position; the negation window counts
    characters (two per word of the word-based window)."""
    cues = sorted(
        [(" ".join(c), -1) for c in lexicon.negative] + [(" ".join(c), 1) for c in lexicon.positive],
        key=lambda cue: -len(cue[0]),
    )
    span = 2 * window
    score, i = 0, 0
    while i < len(text):
        found = next(((cue, sign) for cue, sign in cues if text.startswith(cue, i)), None)
        if found is None:
            i += 1
            continue
        cue, sign = found
        end = i + len(cue)
        near = (text[max(0, i - span) : i] if lexicon.negation in ("before", "both") else "") + (
            "\0" + text[end : end + span] if lexicon.negation in ("after", "both") else ""
        )
        if any(n in near for n in lexicon.negators):
            sign = -sign
        score += sign
        i = end
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
        require_cue_lists(sorted({task.language for task in tasks if task.summaries}))
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
