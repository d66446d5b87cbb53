"""Evaluation stage: each model, in each prompt language, argues for and against every scored
statement and then agrees or disagrees; `evaluation_samples` runs (paper: 5 at temperature 1),
the most frequent readable answer wins. An unreadable answer, or a tie, is a recorded failure.
Answer modes (per model): free text (the paper), constrained (JSON arguments and a verdict
restricted to agree/disagree), scored (one verdict question, the verdicts' log-probabilities).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import ChatMessage, ModelSpec, read_choice_logprobs
from culturalign.probes.answer_modes import (
    check_modes,
    distribution,
    entropy_bits,
    mode_params,
    modes_by_model,
    raise_on_unserved,
)
from culturalign.probes.registry import CallCounts
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
    "answer_mode": pl.Utf8,
    "stance": pl.Utf8,
    "n_agree": pl.Int64,
    "n_disagree": pl.Int64,
    "n_failed": pl.Int64,
    "failure": pl.Utf8,
    "p_agree": pl.Float64,  # scored answers: probability of agreeing (mean over runs)
    "entropy_bits": pl.Float64,  # scored answers: entropy of the verdict distribution
}


def current_labels(experiment: Experiment, store: RunStore, run_id: str) -> pl.DataFrame:
    """The labelled set this run scores with: the labels file when one is set, else the run's own."""
    path = labels_file(experiment)
    if path is not None:
        return load_labels(path)
    return labelled_set(store, run_id, experiment_statements(experiment))


def checked_modes(experiment: Experiment, frames: Frames) -> dict[str, str]:
    """Each model's answer mode, refused before any call when its backend cannot serve it or a
    prompt language has no verdict words to score."""
    settings, models = experiment.settings, experiment.config.models
    check_modes(settings, models, "statements")
    modes = modes_by_model(settings, models)
    if "scored" in modes.values():
        for language in experiment.config.languages:
            frames.require_verdicts(language)
    return modes


def _mode_request(
    experiment: Experiment, frames: Frames, row: dict, language: str, model: ModelSpec, mode: str, sample: int
) -> Request:
    settings = experiment.settings
    if mode == "scored":  # one short verdict question; the verdict words' log-probabilities are the answer
        prompt = frames.render("verdict", language, statement_text(row, language))
        params = stage_params(settings.evaluation, model, None, sample).merged(
            mode_params(mode, frames.require_verdicts(language))
        )
    else:
        prompt = frames.render("evaluation", language, statement_text(row, language))
        schema = evaluation_schema(settings.argument_chars) if mode == "constrained" else None
        params = stage_params(settings.evaluation, model, schema, sample)
    meta = {
        "task": "evaluation",
        "statement_id": row["statement_id"],
        "model": model.name,
        "origin": model.origin,
        "family": model.family,
        "language": language,
        "sample": sample,
        "answer_mode": mode,
    }
    return Request(model, (ChatMessage(role="user", content=prompt),), params, sample, meta)


def evaluation_requests(experiment: Experiment, statements: pl.DataFrame, frames: Frames) -> list[Request]:
    """Every model x language x run request, statement by statement (scored: one run, it is deterministic)."""
    settings = experiment.settings
    modes = checked_modes(experiment, frames)
    requests = []
    for row in statements.iter_rows(named=True):
        for language in experiment.config.languages:
            for model in experiment.config.models:
                mode = modes[model.name]
                for sample in range(1 if mode == "scored" else settings.evaluation_samples):
                    requests.append(_mode_request(experiment, frames, row, language, model, mode, sample))
    return requests


def read_stances(store: RunStore, run_id: str, frames: Frames) -> pl.DataFrame:
    """One row per stored evaluation request: model, language, statement_id, sample, stance, failure."""
    df = store.requests_with_meta(run_id, EVALUATE_STAGE)
    rows = []
    failure: str | None
    for row in df.iter_rows(named=True) if not df.is_empty() else []:
        mode = row.get("answer_mode") or "free"
        p_agree = entropy = None
        if row.get("error") or row.get("response") is None:
            stance, failure = None, f"call failed: {row.get('error') or 'not asked'}"
        elif mode == "scored":
            stance, failure, p_agree, entropy = read_scored_stance(row["response"], frames, row["language"])
        else:
            stance, failure = read_stance(row["response"], frames.keywords.get(row["language"], {}))
        rows.append(
            {k: row[k] for k in (*STANCE_KEYS, "origin", "family", "sample")}
            | {"answer_mode": mode, "stance": stance, "failure": failure, "p_agree": p_agree, "entropy_bits": entropy}
        )
    schema = {
        "model": pl.Utf8,
        "language": pl.Utf8,
        "statement_id": pl.Utf8,
        "origin": pl.Utf8,
        "family": pl.Utf8,
        "sample": pl.Int64,
        "answer_mode": pl.Utf8,
        "stance": pl.Utf8,
        "failure": pl.Utf8,
        "p_agree": pl.Float64,
        "entropy_bits": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_scored_stance(
    text: str, frames: Frames, language: str
) -> tuple[str | None, str | None, float | None, float | None]:
    """stance (the more probable verdict), failure, P(agree) and the entropy in bits of a scored answer."""
    agree, disagree = frames.require_verdicts(language)
    logprobs = read_choice_logprobs(text) or {}
    probs = distribution({agree: logprobs.get(agree), disagree: logprobs.get(disagree)}) if logprobs else None
    if probs is None:
        return None, "no log-probabilities in the answer", None, None
    if probs[agree] == probs[disagree]:
        return None, "tie between answers", probs[agree], entropy_bits(probs)
    return ("agree" if probs[agree] > probs[disagree] else "disagree"), None, probs[agree], entropy_bits(probs)


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
                "answer_mode": group["answer_mode"][0] if "answer_mode" in group.columns else "free",
                "stance": stance,
                "n_agree": stances.count("agree"),
                "n_disagree": stances.count("disagree"),
                "n_failed": stances.count(None),
                "failure": failure,
                "p_agree": group["p_agree"].mean() if "p_agree" in group.columns else None,
                "entropy_bits": group["entropy_bits"].mean() if "entropy_bits" in group.columns else None,
            }
        )
    return pl.DataFrame(rows, schema=STANCE_SCHEMA, orient="row")


class EvaluateResult(CallCounts):
    statements: int = 0
    stances: int = 0


def evaluate_stage(ctx: RunContext) -> EvaluateResult:
    experiment = ctx.experiment
    frames = experiment_frames(experiment)
    labels = current_labels(experiment, ctx.store, ctx.run_id)
    scored_ids = set(labels.filter(pl.col("scored"))["statement_id"].to_list())
    statements = run_statements(ctx).filter(pl.col("statement_id").is_in(sorted(scored_ids)))
    requests = cut_to_limit(evaluation_requests(experiment, statements, frames), ctx)
    counts = run_requests(ctx.store, ctx.run_id, EVALUATE_STAGE, requests, show_progress=ctx.show_progress)
    raise_on_unserved(ctx.store, ctx.run_id, EVALUATE_STAGE)
    stances = decide_stances(read_stances(ctx.store, ctx.run_id, frames))
    ctx.store.save_results(
        ctx.run_id,
        EVALUATE_STAGE,
        (("|".join(str(r[k]) for k in STANCE_KEYS), r) for r in stances.iter_rows(named=True)),
    )
    return EvaluateResult(
        **CallCounts.of(counts).model_dump(),
        statements=statements.height,
        stances=int(stances["stance"].is_not_null().sum()) if stances.height else 0,
    )
