"""Reading responses that report only totals ("three were in favour, one against").

Some responses summarise the interviews as counts instead of one summary per person.
Such counts expand to labels directly: no model is needed to read "7 in favour". The
number words and cue phrases per language are data (data/judge/totals.toml).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass

from culturalign.paths import package_data

# A clause ends at punctuation or a conjunction-like break; counts never reach across it.
_CLAUSE_BREAK = re.compile(r"[,;:.!?()\n]")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|\d+")


@dataclass(frozen=True)
class Totals:
    n_pro: int
    n_con: int
    n_null: int

    @property
    def total(self) -> int:
        return self.n_pro + self.n_con + self.n_null


@dataclass(frozen=True)
class _LanguageCues:
    numbers: dict[str, int]
    cues: tuple[tuple[tuple[str, ...], str], ...]  # (phrase as words, label), longest first


@functools.cache
def _load() -> tuple[int, dict[str, _LanguageCues]]:
    data = tomllib.loads(package_data("judge", "totals.toml").read_text(encoding="utf-8"))
    window = int(data.pop("window"))
    languages: dict[str, _LanguageCues] = {}
    for code, entry in data.items():
        cues = [(tuple(phrase.lower().split()), label) for label in ("pro", "con", "null") for phrase in entry[label]]
        cues.sort(key=lambda c: -len(c[0]))
        numbers = {word.lower(): int(value) for word, value in entry["numbers"].items()}
        languages[code] = _LanguageCues(numbers=numbers, cues=tuple(cues))
    return window, languages


def supported_languages() -> list[str]:
    return sorted(_load()[1])


def parse_totals(text: str, language: str) -> Totals | None:
    """Counts of pro/con/null interviewees stated as totals, or None when the text states none."""
    window, languages = _load()
    cues = languages.get(language) or languages["en"]
    counts = {"pro": 0, "con": 0, "null": 0}
    found = False
    for clause in _CLAUSE_BREAK.split(text.lower()):
        words = _WORD.findall(clause)
        for i, word in enumerate(words):
            number = _as_number(word, cues.numbers)
            if number is None:
                continue
            label = _cue_after(words, i + 1, window, cues)
            if label is not None:
                counts[label] += number
                found = True
    if not found:
        return None
    return Totals(n_pro=counts["pro"], n_con=counts["con"], n_null=counts["null"])


def _as_number(word: str, numbers: dict[str, int]) -> int | None:
    if word.isdigit():
        value = int(word)
        # Years, ages and percentages are not head counts of a ten-person survey.
        return value if 0 < value <= 100 else None
    return numbers.get(word)


def _cue_after(words: list[str], start: int, window: int, cues: _LanguageCues) -> str | None:
    """The first cue phrase within `window` words after a number, stopping at the next number."""
    for j in range(start, min(len(words), start + window + 1)):
        if _as_number(words[j], cues.numbers) is not None:
            return None
        for phrase, label in cues.cues:
            if tuple(words[j : j + len(phrase)]) == phrase:
                return label
    return None
