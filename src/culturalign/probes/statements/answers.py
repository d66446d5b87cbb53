"""Reading model answers (untrusted text: matched against keywords, never evaluated) and
combining them: most frequent answer over repeated runs, relevance by share of votes,
polarity by median, and the sign of agreeing or disagreeing.

Every reader returns (value, failure): exactly one of them is None. A failure is a short
reason that goes into the tables, never a default value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache

from culturalign.judge.aggregate import majority_vote, median_label

POLARITIES = (-2, -1, 1, 2)
STANCES = ("agree", "disagree")
RELEVANCE_SCHEMA = {
    "type": "object",
    "properties": {"relevant": {"enum": ["yes", "no"]}},
    "required": ["relevant"],
}
POLARITY_SCHEMA = {
    "type": "object",
    "properties": {"polarity": {"enum": list(POLARITIES)}},
    "required": ["polarity"],
}


# Field names sort alphabetically in the order the model should write them (arguments before
# the verdict): the llama.cpp backend builds its grammar from the schema with sorted keys.
def evaluation_schema(argument_chars: int = 400) -> dict:
    return {
        "type": "object",
        "properties": {
            "arguments_against": {"type": "string", "maxLength": argument_chars},
            "arguments_for": {"type": "string", "maxLength": argument_chars},
            "verdict": {"enum": list(STANCES)},
        },
        "required": ["arguments_against", "arguments_for", "verdict"],
    }


_MINUS = "-\u2212\u2013\uff0d"  # ASCII hyphen, minus sign, en dash, full-width hyphen
_SIGNED_INT = re.compile(rf"(?<![\d.])([{_MINUS}+\uff0b]?)\s*(\d+)(?![\d.])")


@cache
def _keyword_pattern(words: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    """One alternation, longest phrase first, so 'not relevant' wins over 'relevant' and
    '不同意' over '同意' at the same place; Latin words match whole words only."""
    parts = []
    for word, _ in sorted(words, key=lambda w: -len(w[0])):
        escaped = re.escape(word)
        if word[:1].isascii() and word[:1].isalnum():
            escaped = rf"(?<![^\W_]){escaped}(?![^\W_])"
        parts.append(f"(?:{escaped})")
    return re.compile("|".join(parts), re.IGNORECASE)


def _matches(text: str, vocab: dict[str, Sequence[str]]) -> list[tuple[int, str]]:
    """(position, meaning) of every keyword in the text, left to right, non-overlapping."""
    pairs = tuple((w.lower(), meaning) for meaning, words in vocab.items() for w in words if w)
    if not pairs:
        return []
    meaning_of = {w: m for w, m in pairs}
    return [(m.start(), meaning_of[m.group(0).lower()]) for m in _keyword_pattern(pairs).finditer(text)]


def _json_field(text: str, field: str) -> object | None:
    """The field of a JSON object answer, or None when the text is not such an object."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        # strict=False: grammar-constrained strings may hold raw newlines
        data = json.loads(text[start : end + 1], strict=False)
    except (json.JSONDecodeError, ValueError):
        return None
    return data.get(field) if isinstance(data, dict) else None


def read_relevance(text: str | None, keywords: Mapping[str, Sequence[str]]) -> tuple[bool | None, str | None]:
    """yes/no from a JSON answer or from the first yes/no keyword of the text."""
    if text is None or not text.strip():
        return None, "empty answer"
    value = _json_field(text, "relevant")
    if isinstance(value, str) and value.lower() in ("yes", "no"):
        return value.lower() == "yes", None
    found = _matches(text, {"yes": keywords.get("yes", ()), "no": keywords.get("no", ())})
    if not found:
        return None, "no yes/no answer found"
    return found[0][1] == "yes", None


def read_polarity(text: str | None) -> tuple[int | None, str | None]:
    """The first signed whole number of the answer; it must be -2, -1, +1 or +2 (0 is refused)."""
    if text is None or not text.strip():
        return None, "empty answer"
    value = _json_field(text, "polarity")
    if value is None:
        match = _SIGNED_INT.search(text)
        if match is None:
            return None, "no number found"
        sign = -1 if match.group(1) and match.group(1) in _MINUS else 1
        value = sign * int(match.group(2))
    if isinstance(value, bool) or not isinstance(value, int) or value not in POLARITIES:
        return None, f"polarity {value!r} is not one of -2, -1, +1, +2"
    return value, None


# A heading line: optional markdown marks, a short text, a colon at its end (e.g. "**反对的论据：**").
_HEADING = re.compile(r"^[ \t#>*_-]*[^\n:：]{1,40}[:：][ \t*_]*$", re.MULTILINE)


def _without_headings(text: str) -> str:
    """The text with its heading lines blanked: the frame asks for headings such as 支持的论据 /
    反对的论据 ("arguments for / against"), whose words are also stance cues, and a model may
    add headings of its own ("Why some disagree:"). A heading names a section, it takes no side."""
    return _HEADING.sub(lambda m: " " * len(m.group(0)), text)


def read_stance(text: str | None, keywords: Mapping[str, Sequence[str]]) -> tuple[str | None, str | None]:
    """agree/disagree: a JSON answer, else the keyword after the last 'final answer' marker,
    else the last agree/disagree keyword outside heading lines.

    Phrases listed under `not_stance` (e.g. 反对者 "opponents", 不同意见 "different opinions")
    contain cue words without stating a stance: being longer, they win the match at their
    place and are skipped."""
    if text is None or not text.strip():
        return None, "empty answer"
    value = _json_field(text, "verdict")
    if isinstance(value, str) and value.lower() in STANCES:
        return value.lower(), None
    vocab = {
        "agree": keywords.get("agree", ()),
        "disagree": keywords.get("disagree", ()),
        "none": keywords.get("not_stance", ()),
    }
    final = _matches(text, {"final": keywords.get("final", ())})
    if final:
        after = [m for m in _matches(text[final[-1][0] :], vocab) if m[1] != "none"]
        if after:
            return after[0][1], None
    found = [m for m in _matches(_without_headings(text), vocab) if m[1] != "none"]
    if not found:
        return None, "no agree/disagree answer found"
    return found[-1][1], None


def most_frequent(values: Sequence[object | None]) -> tuple[object | None, str | None]:
    """The most frequent readable answer of repeated runs; a tie or no readable answer is a failure."""
    readable = [v for v in values if v is not None]
    if not readable:
        return None, "no readable answer"
    winner = majority_vote([json.dumps(v) for v in readable])
    if winner is None:
        return None, "tie between answers"
    return json.loads(winner), None


def is_relevant(yes_votes: int, n_voters: int, share: float) -> bool:
    """Relevant when at least `share` of all voters (judges x languages) said yes; an
    unreadable vote counts as not yes, so failures never make a pair relevant."""
    return n_voters > 0 and yes_votes >= share * n_voters - 1e-9


def polarity_median(values: Sequence[int]) -> float | None:
    """Median of the judges' polarities; None without votes. An even split can give 0 or a
    half point (e.g. -1 and +1 -> 0): such a pair carries no direction and is not scored."""
    return median_label(list(values)) if values else None


def stance_sign(stance: str) -> int:
    """+1 for agreeing, -1 for disagreeing: disagreeing scores the opposite polarity."""
    if stance == "agree":
        return 1
    if stance == "disagree":
        return -1
    raise ValueError(f"stance must be agree or disagree, got {stance!r}")
