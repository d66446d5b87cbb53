"""The vsm probe's answer modes: the requests' extra parameters and reading each mode's answer.

free: the chosen number is read out of the text (extract.py). constrained: the answer is one
of "1".."5" (or a JSON object {"answer": "3"} from servers that only offer an enum schema).
scored: each option's log-probability gives a distribution over 1..5; its expected value is
the item's answer (the VSM formulas are linear in item means, so the expected value is what a
population answering by that distribution would give), and its entropy is kept beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from culturalign.models.base import read_choice_logprobs
from culturalign.probes.answer_modes import distribution, entropy_bits, expected_value
from culturalign.probes.vsm.extract import N_OPTIONS, extract_choice

OPTIONS = tuple(str(k) for k in range(1, N_OPTIONS + 1))
_VALUES = {o: float(o) for o in OPTIONS}


@dataclass(frozen=True)
class Reading:
    choice: int | None  # the option read, or the most probable one (scored)
    value: float | None  # what enters the item means: the choice, or the expected value (scored)
    status: str
    method: str
    entropy: float | None = None  # bits, scored only
    probabilities: str | None = None  # JSON {"1": p, ...}, scored only


def read_answer(text: str | None, mode: str, language: str, labels: tuple[str, ...]) -> Reading:
    if mode == "scored":
        return _read_scored(text)
    if mode == "constrained":
        picked = _constrained_choice(text)
        if picked is not None:
            return Reading(picked, float(picked), "ok", "constrained")
    found = extract_choice(text, language, labels)
    value = None if found.choice is None else float(found.choice)
    return Reading(found.choice, value, found.status, found.method)


def _constrained_choice(text: str | None) -> int | None:
    stripped = (text or "").strip()
    if stripped in OPTIONS:
        return int(stripped)
    try:
        answer = json.loads(stripped).get("answer")
    except (ValueError, AttributeError):
        return None
    return int(answer) if isinstance(answer, str) and answer in OPTIONS else None


def _read_scored(text: str | None) -> Reading:
    if text is None:
        return Reading(None, None, "error", "scored")
    logprobs = read_choice_logprobs(text)
    probs = distribution({o: (logprobs or {}).get(o) for o in OPTIONS}) if logprobs else None
    if probs is None:
        return Reading(None, None, "no_answer", "scored")
    best = max(OPTIONS, key=lambda o: probs[o])
    return Reading(
        int(best),
        expected_value(probs, _VALUES),
        "ok",
        "scored",
        entropy_bits(probs),
        json.dumps({o: round(p, 6) for o, p in probs.items()}),
    )
