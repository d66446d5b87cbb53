"""Reading the chosen option (1-5) out of a free-text answer, in any of the prompt languages.

Order of evidence: digits in any script (ASCII, Arabic-Indic, Persian, Devanagari, Bengali,
Thai, full-width ...), then number words of the prompt language (data/vsm/numbers.toml),
then the text of exactly one option label. Anything else is a failure with a reason and the
text kept; there is no default answer.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache

from culturalign import paths

N_OPTIONS = 5

# Short markers of a refusal or a non-answer: only used to label a failure, never to pick an answer.
_REFUSAL = re.compile(
    r"as an ai|i am an ai|i'm an ai|language model|i cannot|i can't|i can not|unable to|i don't have personal|"
    r"作为一个?人工智能|作为AI|我无法|我不能|無法|できません|AIとして|저는 AI|할 수 없|لا أستطيع|بصفتي|"
    r"je ne peux pas|no puedo|não posso|ich kann nicht|не могу|yapamam",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Extraction:
    choice: int | None
    status: str  # ok, no_answer, refusal, ambiguous, echoed_options, out_of_range, error
    method: str = ""  # digit, word, option

    @property
    def ok(self) -> bool:
        return self.choice is not None


@dataclass(frozen=True)
class NumberWords:
    words: dict[int, tuple[str, ...]]
    spaced: bool
    cues: tuple[str, ...]


@cache
def number_words() -> dict[str, NumberWords]:
    data = tomllib.loads(paths.package_data("vsm", "numbers.toml").read_text(encoding="utf-8"))
    out = {}
    for lang, spec in data.items():
        words = {int(k): tuple(v) for k, v in spec.items() if k.isdigit()}
        out[lang] = NumberWords(words, bool(spec.get("spaced", True)), tuple(spec.get("cues", ())))
    return out


def ascii_digits(text: str) -> str:
    """Every decimal digit of any script replaced by its ASCII digit (so ٣, ३, ৩, ๓, ３ all read as 3)."""
    return "".join(str(d) if (d := unicodedata.digit(ch, None)) is not None and not ch.isascii() else ch for ch in text)


_NUMBER = re.compile(r"(?<![\d.,])(\d+)(?:[.,]\d+)?(?![\d])")
_LEADING = re.compile(r"^\W*(\d+)(?!\d)")
# "1. label" at the start of a line: two or more of these mean the answer repeats the option list.
_LIST_MARKER = re.compile(r"(?m)^\s*([1-5])\s*[.)](?:\s|$)")


def _digit_choice(text: str) -> Extraction | None:
    normal = ascii_digits(text)
    if len(set(_LIST_MARKER.findall(normal))) >= 2:
        return Extraction(None, "echoed_options", "digit")
    # whole numbers only: "3.5" is not an answer of 3
    numbers = [int(m.group(1)) for m in _NUMBER.finditer(normal) if m.group(0) == m.group(1)]
    if not numbers:
        return None
    in_range = [n for n in numbers if 1 <= n <= N_OPTIONS]
    if not in_range:
        return Extraction(None, "out_of_range", "digit")
    if len(set(in_range)) == 1:
        return Extraction(in_range[0], "ok", "digit")
    # Several candidates ("3 - ..., not 2"): a number opening the answer is the answer.
    lead = _LEADING.match(normal)
    if lead and 1 <= int(lead.group(1)) <= N_OPTIONS:
        return Extraction(int(lead.group(1)), "ok", "digit")
    return Extraction(None, "ambiguous", "digit")


def _word_choice(text: str, language: str) -> Extraction | None:
    spec = number_words().get(language)
    if spec is None:
        return None
    lowered = text.casefold()
    hits: set[int] = set()
    for value, words in spec.words.items():
        for word in words:
            w = word.casefold()
            if spec.spaced:
                if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered):
                    hits.add(value)
            else:
                bare = re.sub(r"[\W_]+", "", lowered)
                cued = any(cue.casefold() + w in lowered or w + cue.casefold() in lowered for cue in spec.cues)
                if bare == w or cued:
                    hits.add(value)
    if not hits:
        return None
    if len(hits) == 1:
        return Extraction(hits.pop(), "ok", "word")
    return Extraction(None, "ambiguous", "word")


def _option_choice(text: str, options: tuple[str, ...]) -> Extraction | None:
    lowered = " ".join(text.casefold().split())
    present = [k for k, label in enumerate(options, start=1) if label and " ".join(label.casefold().split()) in lowered]
    # "very important" also contains "important": keep only labels no other present label contains.
    labels = {k: options[k - 1].casefold() for k in present}
    kept = [k for k in present if not any(k != j and labels[k] in labels[j] for j in present)]
    if not kept:
        return None
    if len(kept) == 1:
        return Extraction(kept[0], "ok", "option")
    return Extraction(None, "ambiguous", "option")


def extract_choice(text: str | None, language: str, options: tuple[str, ...] = ()) -> Extraction:
    """The option chosen in `text`, or a failure saying why none could be read."""
    if text is None:
        return Extraction(None, "error")
    for attempt in (_digit_choice(text), _word_choice(text, language), _option_choice(text, options)):
        if attempt is not None:
            return attempt
    if _REFUSAL.search(text):
        return Extraction(None, "refusal")
    return Extraction(None, "no_answer")
