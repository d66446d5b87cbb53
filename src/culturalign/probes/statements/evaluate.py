"""Evaluation stage: each model, in each prompt language, argues for and against every scored
statement and then agrees or disagrees; `evaluation_samples` runs (paper: 5 at temperature 1),
the most frequent readable answer wins. An unreadable answer, or a tie, is a recorded failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import ChatMessage
from culturalign.probes.statements.answers import (
    evaluation_schema,
    most_frequent,
    read_stance,
)
from culturalign.probes.statements.labelling import (
    cut_to_limit,
    experiment_frames,
    experiment_statements,
    labelled_set,
    labels_file,
    load_labels,
    run_statements,
    stage_params,
)
from culturalign.probes.statements.statements import Frames, statement_text

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.probes.registry import RunContext
    from culturalign.store.db import RunStore

EVALUATE_STAGE = "evaluate"
STANCE_KEYS = ["model", "language", "statement_id"]
STANCE_SCHEMA = {
    "model": pl.Utf8,
    "language": pl.Utf8,
    "statement_id": pl.Utf8,
    "origin": pl.Utf8,
    "family": pl.Utf8,
    "stance": pl.Utf8,
    "n_agree": pl.Int64,
    "n_disagree": pl.Int64,
    "n_failed": pl.Int64,
    "failure": pl.Utf8,
}


def current_labels(experiment: Experiment, store: RunStore, run_id: str) -> pl.DataFrame:
    """The labelled set this run scores with: the labels file when one is set, else the run's own."""
    path = labels_file(experiment)
    if path is not None:
        return load_labels(path)
    return labelled_set(store, run_id, experiment_statements(experiment))


def evaluation_requests(experiment: Experiment, statements: pl.DataFrame, frames: Frames) -> list[Request]:
    """Every model x language x run request, statement by statement."""
    settings = experiment.settings
    schema = evaluation_schema(settings.argument_chars) if settings.structured_output else None
    requests = []
    for row in statements.iter_rows(named=True):
        for language in experiment.config.languages:
            prompt = frames.render("evaluation", language, statement_text(row, language))
            for model in experiment.config.models:
                for sample in range(settings.evaluation_samples):
                    meta = {
                        "task": "evaluation",
                        "statement_id": row["statement_id"],
                        "model": model.name,
                        "origin": model.origin,
                        "family": model.family,
                        "language": language,
                        "sample": sample,
                    }
                    requests.append(
                        Request(
                            model,
                            (ChatMessage(role="user", content=prompt),),
                            stage_params(settings.evaluation, model, schema, sample),
                            sample,
                            meta,
                        )
                    )
    return requests


def read_stances(store: RunStore, run_id: str, frames: Frames) -> pl.DataFrame:
    """One row per stored evaluation request: model, language, statement_id, sample, stance, failure."""
    df = store.requests_with_meta(run_id, EVALUATE_STAGE)
    rows = []
    failure: str | None
    for row in df.iter_rows(named=True) if not df.is_empty() else []:
        if row.get("error") or row.get("response") is None:
            stance, failure = None, f"call failed: {row.get('error') or 'not asked'}"
        else:
            stance, failure = read_stance(row["response"], frames.keywords.get(row["language"], {}))
        rows.append(
            {k: row[k] for k in (*STANCE_KEYS, "origin", "family", "sample")} | {"stance": stance, "failure": failure}
        )
    schema = {
        "model": pl.Utf8,
        "language": pl.Utf8,
        "statement_id": pl.Utf8,
        "origin": pl.Utf8,
        "family": pl.Utf8,
        "sample": pl.Int64,
        "stance": pl.Utf8,
        "failure": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def decide_stances(runs: pl.DataFrame) -> pl.DataFrame:
    """Per (model, language, statement): the most frequent stance with its counts, or the failure."""
    rows = []
    for key, group in runs.group_by(STANCE_KEYS, maintain_order=True):
        stances = group["stance"].to_list()
        stance, failure = most_frequent(stances)
        rows.append(
            {
                **dict(zip(STANCE_KEYS, key, strict=True)),
                "origin": group["origin"][0],
                "family": group["family"][0],
                "stance": stance,
                "n_agree": stances.count("agree"),
                "n_disagree": stances.count("disagree"),
                "n_failed": stances.count(None),
                "failure": failure,
            }
        )
    return pl.DataFrame(rows, schema=STANCE_SCHEMA, orient="row")


def evaluate_stage(ctx: RunContext) -> None:
    experiment = ctx.experiment
    frames = experiment_frames(experiment)
    labels = current_labels(experiment, ctx.store, ctx.run_id)
    scored_ids = set(labels.filter(pl.col("scored"))["statement_id"].to_list())
    statements = run_statements(ctx).filter(pl.col("statement_id").is_in(sorted(scored_ids)))
    requests = cut_to_limit(evaluation_requests(experiment, statements, frames), ctx)
    counts = run_requests(ctx.store, ctx.run_id, EVALUATE_STAGE, requests, show_progress=ctx.show_progress)
    stances = decide_stances(read_stances(ctx.store, ctx.run_id, frames))
    ctx.store.save_results(
        ctx.run_id,
        EVALUATE_STAGE,
        (("|".join(str(r[k]) for k in STANCE_KEYS), r) for r in stances.iter_rows(named=True)),
    )
    ctx.notes[EVALUATE_STAGE] = {
        **counts,
        "statements": statements.height,
        "stances": int(stances["stance"].is_not_null().sum()) if stances.height else 0,
    }
