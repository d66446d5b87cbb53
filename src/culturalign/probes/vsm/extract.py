"""Reading the chosen option (1-5) out of a free-text answer, in any of the prompt languages.

Order of evidence: digits in any script (ASCII, Arabic-Indic, Persian, Devanagari, Bengali,
Thai, full-width ...), then number words of the prompt language (data/vsm/numbers.toml),
then the text of exactly one option label. Number words are ordinary words too ("one of the
most important", "Les deux", 一个, ข้อห้าม), so they count only in the context the data file
describes: the whole reply, right after a cue ("option", 选项), right before a verb-final cue
(चुनूंगा) or right before the same option's text. Two different choices of the same strength
are `ambiguous`; anything else is a failure with a reason and the text kept; there is no
default answer.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator
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

# What may stand between a cue and its number word besides spaces: quotes, emphasis, dashes.
_MARKUP = "*_`'\"«»“”„‘’()[]{}<>-–—#=「」『』【】（）"
_COLONS = ":："
# After an ordinal (第一), a comma marks an enumeration ("firstly, ..."), not a choice.
_COMMAS = ",，、"


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
    """Number words of one language and the context that makes them an answer (see numbers.toml)."""

    words: dict[int, tuple[str, ...]]
    spaced: bool
    cues: tuple[str, ...]
    cues_after: tuple[str, ...] = ()
    not_before: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    ordinal_cues: tuple[str, ...] = ()
    ordinal_suffixes: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    follow: tuple[str, ...] = ()


# Arabic short-vowel marks and tatweel are optional in writing: "الأوَّل" is "الأول".
_ARABIC_MARKS = re.compile("[\u0640\u064b-\u065f\u0670]")


def fold(text: str) -> str:
    """NFC and case-folded, so composed and decomposed spellings (Bengali য়, Hangul) compare equal."""
    # Turkish dotted capital I would case-fold to "i" plus a combining dot and miss "iki".
    return _ARABIC_MARKS.sub("", unicodedata.normalize("NFC", text)).replace("İ", "i").casefold()


def _folded(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(fold(v) for v in values)


@cache
def number_words() -> dict[str, NumberWords]:
    data = tomllib.loads(paths.package_data("vsm", "numbers.toml").read_text(encoding="utf-8"))
    out = {}
    for lang, spec in data.items():
        out[lang] = NumberWords(
            words={int(k): _folded(v) for k, v in spec.items() if k.isdigit()},
            spaced=bool(spec.get("spaced", True)),
            cues=_folded(spec.get("cues", ())),
            cues_after=_folded(spec.get("cues_after", ())),
            not_before=_folded(spec.get("not_before", ())),
            never=_folded(spec.get("never", ())),
            alternatives=_folded(spec.get("alternatives", ())),
            ordinal_cues=_folded(spec.get("ordinal_cues", ())),
            ordinal_suffixes=_folded(spec.get("ordinal_suffixes", ())),
            classifiers=_folded(spec.get("classifiers", ())),
            follow=_folded(spec.get("follow", ())),
        )
    return out


def _as_digit(ch: str) -> int | None:
    """The value of a decimal digit of any script, or of a circled digit (③); not superscripts (m²)."""
    if ch.isascii():
        return None
    value = unicodedata.decimal(ch, None)
    if value is None and "CIRCLED DIGIT" in unicodedata.name(ch, ""):
        value = unicodedata.digit(ch, None)
    return value


def ascii_digits(text: str) -> str:
    """Every decimal digit of any script replaced by its ASCII digit (so ٣, ३, ৩, ๓, ３ all read as 3)."""
    return "".join(str(d) if (d := _as_digit(ch)) is not None else ch for ch in text)


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


def _wordish(ch: str) -> bool:
    """Part of a word: letters, digits and combining marks (Devanagari, Thai and Arabic vowel signs)."""
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def _occurrences(text: str, word: str, spaced: bool) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        whole_word = (start == 0 or not _wordish(text[start - 1])) and (end == len(text) or not _wordish(text[end]))
        if whole_word or not spaced:
            yield start
        start = text.find(word, start + 1)


def _strip_edges(text: str) -> str:
    """The text without the punctuation, markup and spaces around it."""
    chars = list(text)
    while chars and not _wordish(chars[-1]):
        chars.pop()
    start = 0
    while start < len(chars) and not _wordish(chars[start]):
        start += 1
    return "".join(chars[start:])


def _cue_before(before: str, cues: tuple[str, ...], spaced: bool) -> str | None:
    """The cue that `before` ends with (only spaces, markup or a colon after it), if any."""
    with_colon = before.rstrip(" \t\n" + _MARKUP)
    without_colon = with_colon.rstrip(_COLONS + " \t\n" + _MARKUP)
    for cue in sorted(cues, key=len, reverse=True):
        tail = with_colon if cue[-1] in _COLONS else without_colon
        if not tail.endswith(cue):
            continue
        start = len(tail) - len(cue)
        if not spaced or start == 0 or not _wordish(tail[start - 1]):
            return cue
    return None


def _starts_with_word(text: str, words: tuple[str, ...], spaced: bool) -> bool:
    for word in words:
        if text.startswith(word) and (not spaced or len(text) == len(word) or not _wordish(text[len(word)])):
            return True
    return False


def _cue_after(after: str, spec: NumberWords) -> bool:
    return _starts_with_word(after.lstrip(" \t" + _MARKUP), spec.cues_after, spec.spaced)


def _is_quantifier(after: str, spec: NumberWords) -> bool:
    """ "one of", "одна из", "둘 다": the number word counts things rather than naming an option."""
    rest = after.lstrip(" ")
    return rest != after and _starts_with_word(rest, spec.not_before, spec.spaced)


def _option_follows(after: str, label: str) -> bool:
    """ "Three - of moderate importance": the number word names the option whose text follows."""
    skip = 0
    while skip < len(after) and not _wordish(after[skip]):
        skip += 1
    return bool(label) and after[skip:].startswith(label)


def _unspaced_end(after: str, spec: NumberWords, ordinal: bool) -> bool:
    """In scripts without spaces, the numeral must not run on into another word (一个, 第一位, ข้อห้าม);
    an ordinal (第一, 一つ目) must not start an enumeration ("firstly, ...")."""
    rest = after.lstrip(" ")
    if rest.startswith(spec.cues_after):
        return True
    if ordinal:
        classifier = next((c for c in spec.classifiers if rest.startswith(c)), "")
        rest = rest[len(classifier) :]
        if rest[:1] and rest[0] in _COMMAS:
            return False
    if not rest or not _wordish(rest[0]):
        return True
    return rest.startswith(spec.follow)


_ANSWER, _DOUBT, _NOTHING = "answer", "doubt", ""


def _evidence(text: str, start: int, word: str, spec: NumberWords, label: str) -> str:
    """Whether this occurrence of a number word is an answer, a possible other answer, or neither."""
    before, after = text[:start], text[start + len(word) :]
    if spec.spaced:
        if _option_follows(after, label):
            return _ANSWER
        if _is_quantifier(after, spec) or _starts_with_word(text[start:], spec.never, True):
            return _NOTHING
        if _cue_before(before, spec.cues, True) is not None or _cue_after(after, spec):
            return _ANSWER
    else:
        cue = _cue_before(before, spec.cues, False)
        suffix = next((s for s in spec.ordinal_suffixes if after.startswith(s)), "")
        if cue is not None or suffix or _cue_after(after, spec):
            # a cued numeral running on into a word (选项二还是...) may still be a second choice
            ordinal = cue in spec.ordinal_cues or bool(suffix)
            return _ANSWER if _unspaced_end(after[len(suffix) :], spec, ordinal) else _DOUBT
    # "option two or four": the alternative is not an answer, but it makes the reply ambiguous
    return _DOUBT if _cue_before(before, spec.alternatives, spec.spaced) is not None else _NOTHING


def _word_choice(text: str, language: str, labels: tuple[str, ...]) -> Extraction | None:
    spec = number_words().get(language)
    if spec is None:
        return None
    whole = _strip_edges(text)
    hits: set[int] = set()
    doubts: set[int] = set()
    for value, words in spec.words.items():
        label = labels[value - 1] if value <= len(labels) else ""
        for word in words:
            if whole == word:
                hits.add(value)
            for start in _occurrences(text, word, spec.spaced):
                found = _evidence(text, start, word, spec, label)
                if found == _ANSWER:
                    hits.add(value)
                elif found == _DOUBT:
                    doubts.add(value)
    if not hits:
        # "选项二还是四": no clean answer, but two candidates is a better reason than none
        return Extraction(None, "ambiguous", "word") if len(doubts) > 1 else None
    if len(hits) == 1 and doubts <= hits:
        return Extraction(hits.pop(), "ok", "word")
    return Extraction(None, "ambiguous", "word")


def _option_choice(text: str, labels: tuple[str, ...]) -> Extraction | None:
    lowered = " ".join(text.split())
    present = [k for k, label in enumerate(labels, start=1) if label and label in lowered]
    # "very important" also contains "important": keep only labels no other present label contains.
    kept = [k for k in present if not any(k != j and labels[k - 1] in labels[j - 1] for j in present)]
    if not kept:
        return None
    if len(kept) == 1:
        return Extraction(kept[0], "ok", "option")
    return Extraction(None, "ambiguous", "option")


def extract_choice(text: str | None, language: str, options: tuple[str, ...] = ()) -> Extraction:
    """The option chosen in `text`, or a failure saying why none could be read."""
    if text is None:
        return Extraction(None, "error")
    text = unicodedata.normalize("NFC", text)
    digit = _digit_choice(text)
    if digit is not None:
        return digit
    folded = fold(text)
    labels = tuple(" ".join(fold(label).split()) for label in options)
    word, option = _word_choice(folded, language, labels), _option_choice(folded, labels)
    if word is not None:
        # A number word the option text contradicts is not read either way.
        if word.ok and option is not None and option.ok and option.choice != word.choice:
            return Extraction(None, "ambiguous", "word")
        return word
    if option is not None:
        return option
    if _REFUSAL.search(text):
        return Extraction(None, "refusal")
    return Extraction(None, "no_answer")
