"""Answer options on OpenAI-compatible servers: the enum schema of a constrained answer,
checking that a server kept to the options, and option log-probabilities from the top
alternatives a server reports for the first generated token."""

from __future__ import annotations

import json
import math
from typing import Any


def choice_schema(choices: list[str]) -> dict[str, Any]:
    """A JSON object whose one field must be one of the options."""
    return {"type": "object", "properties": {"answer": {"enum": list(choices)}}, "required": ["answer"]}


def chosen(text: str, choices: list[str], level: str) -> str | None:
    """The option a constrained answer gave, or None when the server did not keep to them."""
    if text.strip() in choices:
        return text.strip()
    if level in ("structured_outputs", "guided_choice"):
        return None
    try:
        value = json.loads(text).get("answer")
    except (ValueError, AttributeError):
        return None
    return value if value in choices else None


def top_logprobs(data: Any, completion: bool) -> list[tuple[str, float]] | None:
    """(token, logprob) of the alternatives at the first generated position, or None without logprobs."""
    try:
        logprobs = data["choices"][0].get("logprobs")
        if not logprobs:
            return None
        if completion:
            first = (logprobs.get("top_logprobs") or [None])[0]
            return [(str(t), float(v)) for t, v in first.items()] if first else None
        content = logprobs.get("content") or []
        alternatives = content[0].get("top_logprobs") if content else None
        return [(str(a["token"]), float(a["logprob"])) for a in alternatives] if alternatives else None
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None


def option_logprobs(top: list[tuple[str, float]], choices: list[str]) -> dict[str, float | None]:
    """Each option's log-probability from the top alternatives of the first token: the summed
    probability of the tokens that begin that option and no other (e.g. "3" and " 3" for "3").
    An option none of whose beginnings is among them gets None (less likely than every listed token)."""
    mass = dict.fromkeys(choices, 0.0)
    for token, logprob in top:
        piece = token.strip()
        owners = [c for c in choices if piece and c.strip().startswith(piece)]
        if len(owners) == 1:
            mass[owners[0]] += math.exp(logprob)
    return {c: (math.log(m) if m > 0 else None) for c, m in mass.items()}
