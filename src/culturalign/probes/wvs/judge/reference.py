"""Validating a judge on hand labels: load the labels and the responses they refer to,
judge those responses, line the judge's labels up with the hand labels by interviewee.

The labels file names each summary by its response's line in a JSONL file of responses
(fields `topic`, `response`) and the number the response itself gives the interviewee.
The response texts are read from that file at validation time, never copied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from culturalign.errors import DataError
from culturalign.judge.stance import LABELS, JudgeVerdict, StanceTask
from culturalign.probes.wvs.judge.summaries import numbered_items
from culturalign.tables import read_table, require_columns, write_table

LABEL_COLUMNS = ["line", "item", "language", "interviewee", "label"]


@dataclass(frozen=True)
class ReferenceResponse:
    """One labelled response: the task to judge and the response's own interviewee numbers."""

    response_id: str
    task: StanceTask
    numbers: tuple[int, ...]


def load_reference_labels(path: str | Path) -> pl.DataFrame:
    labels = read_table(path)
    require_columns(labels, LABEL_COLUMNS, f"labels file {Path(path).name}")
    bad = sorted(set(labels["label"].drop_nulls().to_list()) - set(LABELS))
    if bad or labels["label"].null_count():
        raise DataError(f"labels file {Path(path).name} has labels other than pro/con/null: {bad or ['(empty)']}")
    dupes = labels.group_by(["line", "interviewee"]).len().filter(pl.col("len") > 1)
    if not dupes.is_empty():
        first = dupes.row(0)
        raise DataError(f"labels file {Path(path).name} labels line {first[0]} interviewee {first[1]} twice")
    return labels


def load_responses(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"responses file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path.name} line {number + 1} is not JSON; expected one object per line") from None
        if not isinstance(row, dict) or "response" not in row:
            raise DataError(f"{path.name} line {number + 1} has no 'response' field")
        rows.append(row)
    return rows


def reference_responses(
    labels: pl.DataFrame, responses: Sequence[Mapping[str, Any]], statements: Any
) -> list[ReferenceResponse]:
    """One task per labelled response. `statements(item) -> (pro, con)` gives the item's statements."""
    out = []
    for (line, item, language), _group in labels.group_by(["line", "item", "language"], maintain_order=True):
        if not 0 <= int(line) < len(responses):
            raise DataError(f"labels refer to line {line}, but the responses file has {len(responses)} lines")
        row = responses[int(line)]
        summaries = numbered_items(str(row["response"]))
        pro, con = statements(str(item))
        task = StanceTask(
            item=str(item),
            language=str(language),
            topic=str(row.get("topic") or item),
            pro_statement=pro,
            con_statement=con,
            summaries=tuple(s.text for s in summaries),
            response_text=str(row["response"]),
        )
        out.append(ReferenceResponse(response_id=str(line), task=task, numbers=tuple(s.number for s in summaries)))
    return out


def align(
    labels: pl.DataFrame, references: Sequence[ReferenceResponse], verdicts: Sequence[JudgeVerdict]
) -> pl.DataFrame:
    """One row per hand label with the judge's label for the same interviewee (null if none).

    The judge's i-th label belongs to the response's i-th summary; a failed reply or a
    shorter list leaves the rest unlabelled (counted as disagreement, never guessed).
    """
    judged: dict[tuple[str, int], str] = {}
    failures: dict[str, str] = {}
    for ref, verdict in zip(references, verdicts, strict=True):
        if verdict.labels is None:
            failures[ref.response_id] = verdict.failure or "no labels"
            continue
        for number, label in zip(ref.numbers, verdict.labels, strict=False):
            judged[(ref.response_id, number)] = label
    rows = []
    for row in labels.iter_rows(named=True):
        response = str(row["line"])
        rows.append(
            {
                "response": response,
                "language": row["language"],
                "item": row["item"],
                "interviewee": int(row["interviewee"]),
                "reference": row["label"],
                "predicted": judged.get((response, int(row["interviewee"]))),
                "failure": failures.get(response),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "response": pl.Utf8,
            "language": pl.Utf8,
            "item": pl.Utf8,
            "interviewee": pl.Int64,
            "reference": pl.Utf8,
            "predicted": pl.Utf8,
            "failure": pl.Utf8,
        },
    )


def write_aligned(aligned: pl.DataFrame, path: str | Path) -> Path:
    return write_table(aligned, path)
