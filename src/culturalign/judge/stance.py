"""The stance judge's request and the validation of its reply.

A judge model sees an item's topic, its pro and con statements and one response's
interviewee summaries, and answers `{"labels": [...]}` with one of pro/con/null per
interviewee. The reply is untrusted text: it is parsed with `json`, never evaluated, and
accepted only when its labels are all known and their count lies between 1 and N+2 (the
paper's tolerance for a judge that splits or merges an interviewee). Anything else is a
failure with a reason; the stage retries it and never guesses a label.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from culturalign.languages import language_name
from culturalign.models.base import ChatMessage
from culturalign.paths import package_data

LABELS: tuple[str, ...] = ("pro", "con", "null")
# Extra labels a judge may give beyond the N interviewees the response numbers.
EXTRA_LABELS_ALLOWED = 2


@dataclass(frozen=True)
class StanceTask:
    """One response to judge: the item's wording in the response's language and its summaries."""

    item: str
    language: str
    topic: str
    pro_statement: str
    con_statement: str
    summaries: tuple[str, ...]
    response_text: str = ""

    @property
    def expected_count(self) -> int:
        return len(self.summaries)


@dataclass(frozen=True)
class JudgeVerdict:
    """A validated reply (labels) or the reason it was rejected (failure); never both."""

    labels: tuple[str, ...] | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.labels is not None


@dataclass(frozen=True)
class PromptTemplate:
    system: str
    user: str


@functools.cache
def load_prompt_template() -> PromptTemplate:
    data = tomllib.loads(package_data("judge", "prompt.toml").read_text(encoding="utf-8"))
    return PromptTemplate(system=data["system"], user=data["user"])


def judge_schema(max_labels: int) -> dict[str, Any]:
    """JSON schema for the reply: structured output on servers, a grammar on llama.cpp."""
    return {
        "type": "object",
        "properties": {
            "labels": {
                "type": "array",
                "items": {"type": "string", "enum": list(LABELS)},
                "minItems": 1,
                "maxItems": max(1, max_labels),
            }
        },
        "required": ["labels"],
        "additionalProperties": False,
    }


def format_summaries(task: StanceTask) -> str:
    """The write-up the judge reads: numbered summaries, or the whole response when it has none."""
    if task.summaries:
        return "\n".join(f"{i}. {' '.join(s.split())}" for i, s in enumerate(task.summaries, start=1))
    return task.response_text.strip()


def build_messages(task: StanceTask, count_hint: int | None = None) -> tuple[ChatMessage, ...]:
    template = load_prompt_template()
    count = count_hint if count_hint is not None else max(task.expected_count, 1)
    user = template.user.format(
        topic=task.topic,
        pro=task.pro_statement,
        con=task.con_statement,
        count=count,
        summaries=format_summaries(task),
        language=language_name(task.language),
    )
    return (ChatMessage(role="system", content=template.system), ChatMessage(role="user", content=user))


_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```", re.DOTALL)


def extract_json_object(text: str) -> Any:
    """The first complete JSON value in a reply, tolerating code fences and trailing prose.

    Raises ValueError when there is none. Leniency stops at syntax: the content is still
    validated strictly by `parse_reply`.
    """
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    if not starts:
        raise ValueError("reply holds no JSON")
    try:
        value, _end = json.JSONDecoder().raw_decode(stripped, min(starts))
    except json.JSONDecodeError as exc:
        raise ValueError(f"reply is not valid JSON ({exc.msg})") from None
    return value


def normalise_label(value: Any) -> str | None:
    """A known label in canonical form, or None when the value is not one (JSON null means 'null')."""
    if value is None:
        return "null"
    if isinstance(value, str) and value.strip().lower() in LABELS:
        return value.strip().lower()
    return None


def parse_reply(text: str | None, expected_count: int) -> JudgeVerdict:
    """Validate a judge's reply against the label set and the count rule 1..N+2."""
    if text is None or not text.strip():
        return JudgeVerdict(failure="empty judge reply")
    try:
        value = extract_json_object(text)
    except ValueError as exc:
        return JudgeVerdict(failure=str(exc))
    if not isinstance(value, dict):
        return JudgeVerdict(failure=f"reply is a JSON {type(value).__name__}, expected an object with 'labels'")
    if "labels" not in value:
        keys = ", ".join(sorted(map(str, value))) or "none"
        return JudgeVerdict(failure=f"reply has no 'labels' key (keys: {keys})")
    raw = value["labels"]
    if not isinstance(raw, list):
        return JudgeVerdict(failure="'labels' is not a list")
    labels: list[str] = []
    for entry in raw:
        label = normalise_label(entry)
        if label is None:
            return JudgeVerdict(failure=f"unknown label {str(entry)[:30]!r}; expected pro, con or null")
        labels.append(label)
    problem = count_problem(len(labels), expected_count)
    if problem:
        return JudgeVerdict(failure=problem)
    return JudgeVerdict(labels=tuple(labels))


def count_problem(n_labels: int, expected_count: int) -> str | None:
    if n_labels < 1:
        return "reply has no labels"
    limit = max(expected_count, 1) + EXTRA_LABELS_ALLOWED
    if n_labels > limit:
        return f"reply has {n_labels} labels for {expected_count} interviewees (at most {limit} allowed)"
    return None


def labels_from_counts(n_pro: int, n_con: int, n_null: int) -> tuple[str, ...]:
    """Labels expanded from totals, in a fixed order (pro, con, null): order carries no meaning."""
    return ("pro",) * n_pro + ("con",) * n_con + ("null",) * n_null


def count_labels(labels: Sequence[str | None]) -> dict[str, int]:
    return {label: sum(1 for x in labels if x == label) for label in LABELS}
