"""Example responses for the report: what a model wrote, split into interviewees, each with the
label the judge gave it. Everything here is untrusted model text; it is only ever rendered
escaped (the template autoescapes and never marks it safe).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from culturalign.report.sections import Example, LabelledSpan
from culturalign.store.db import RunStore

# Columns a stage result may use to point back at the generation request it belongs to.
_PARENT_KEY_COLUMNS = ("generate_key", "response_key", "source_key", "parent_key")
_SUMMARY_COLUMNS = ("summaries", "interviews", "parts")
_LABEL_COLUMNS = ("labels", "stances")
MAX_PROMPT_CHARS = 600


def _results_by_parent(store: RunStore, run_id: str, stage: str, columns: tuple[str, ...]) -> dict[str, Any]:
    """One value per generation key from a stage's results (the first of `columns` present)."""
    table = store.results(run_id, stage)
    column = next((c for c in columns if c in table.columns), None)
    if column is None or table.is_empty():
        return {}
    parent = next((c for c in _PARENT_KEY_COLUMNS if c in table.columns), "key")
    return {k: v for k, v in zip(table[parent].to_list(), table[column].to_list(), strict=True) if k is not None}


def _summary_text(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get("text", entry.get("summary", "")))
    return str(entry)


def _prompt_of(messages_json: str | None) -> str:
    """The last user message the model saw (the survey prompt), shortened for display."""
    if not messages_json:
        return ""
    try:
        messages = json.loads(messages_json)
    except json.JSONDecodeError:
        return ""
    users = [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    text = str(users[-1]) if users else ""
    return text if len(text) <= MAX_PROMPT_CHARS else text[: MAX_PROMPT_CHARS - 1] + "…"


def labelled_parts(summaries: list[Any] | None, labels: list[Any] | None, response: str) -> tuple[LabelledSpan, ...]:
    """Pair each interviewee with its label by position; without a split, the whole response."""
    if not summaries:
        return (LabelledSpan(text=response, label=None),)
    labels = list(labels or [])
    return tuple(
        LabelledSpan(text=_summary_text(s), label=str(labels[i]) if i < len(labels) and labels[i] is not None else None)
        for i, s in enumerate(summaries)
    )


def examples_from_store(store: RunStore, run_id: str, per_model: int = 3) -> list[Example]:
    """Up to `per_model` answered responses per model, in request order, with judge labels."""
    generated = store.requests_with_meta(run_id, "generate")
    if generated.is_empty():
        return []
    summaries = _results_by_parent(store, run_id, "parse", _SUMMARY_COLUMNS)
    drop_reasons = _results_by_parent(store, run_id, "parse", ("reason",))
    labels = _results_by_parent(store, run_id, "judge", _LABEL_COLUMNS)
    failures = _results_by_parent(store, run_id, "judge", ("failure",))
    answered = generated.filter(pl.col("response").is_not_null())
    # Prefer responses the judge labelled: those show what the numbers are made of.
    judged = [k for k, v in labels.items() if v]
    answered = answered.with_columns(pl.col("key").is_in(judged).alias("_judged")).sort(
        "_judged", descending=True, maintain_order=True
    )
    examples: list[Example] = []
    model_column = "model_name"
    for model in sorted(answered[model_column].drop_nulls().unique().to_list()):
        rows = answered.filter(pl.col(model_column) == model).head(per_model)
        for row in rows.iter_rows(named=True):
            key = row["key"]
            item = row.get("item")
            note_bits = [
                f"item {item}" if item else "",
                f"dropped by the parser: {drop_reasons[key]}" if drop_reasons.get(key) else "",
                f"judge failed: {failures[key]}" if failures.get(key) else "",
                "not labelled by a judge" if labels.get(key) is None and not failures.get(key) else "",
            ]
            examples.append(
                Example(
                    model=model,
                    language=str(row.get("language") or ""),
                    prompt=_prompt_of(row.get("messages_json")),
                    parts=labelled_parts(summaries.get(key), labels.get(key), row["response"]),
                    note="; ".join(b for b in note_bits if b),
                )
            )
    return examples
