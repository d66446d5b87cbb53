"""Labelling stages (dataset construction): relevance, then polarity, by every judge in every
labelling language, through the run store (cached, resumable).

relevance: for each (statement, dimension) every judge x language answers yes/no; a pair is
kept when at least `relevance_share` of all those voters said yes (paper: 4 of 8).
polarity: for each kept pair every judge x language gives the polarity of agreeing, one of
-2, -1, +1, +2; the label is the median. With `labelling_samples` > 1 each voter's answer is
its most frequent one. Both stages save their decisions as stage results, and the polarity
stage exports the labelled set with every vote kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from culturalign.engine.runner import Request, run_requests
from culturalign.errors import ConfigError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.probes.registry import CallCounts
from culturalign.probes.statements.answers import (
    POLARITY_SCHEMA,
    RELEVANCE_SCHEMA,
    is_relevant,
    most_frequent,
    polarity_median,
    read_polarity,
    read_relevance,
)
from culturalign.probes.statements.statements import (
    Frames,
    beside_experiment,
    experiment_statements,
    labelling_languages,
    load_frames,
    statement_text,
)
from culturalign.probes.statements.translate import with_translations
from culturalign.tables import write_table_pair

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.probes.registry import RunContext
    from culturalign.store.db import RunStore

RELEVANCE_STAGE = "relevance"
POLARITY_STAGE = "polarity"
LABEL_FORMAT = 1
LABELS_STEM = "statement_labels"
VOTES_STEM = "label_votes"
VOTER_KEYS = ["statement_id", "dimension", "judge", "language"]


# -- what the experiment asks for ------------------------------------------------------------
def run_statements(ctx: RunContext) -> pl.DataFrame:
    """The experiment's statements with this run's translations filled in."""
    return with_translations(ctx.experiment, experiment_statements(ctx.experiment), ctx.store, ctx.run_id)


def experiment_frames(experiment: Experiment) -> Frames:
    frames = load_frames(beside_experiment(experiment, experiment.settings.frames))
    frames.require(
        sorted(set(labelling_languages(experiment)) | set(experiment.config.languages)), experiment.settings.dimensions
    )
    return frames


def labels_file(experiment: Experiment) -> Path | None:
    return beside_experiment(experiment, experiment.settings.labels)


def judges(experiment: Experiment) -> list[ModelSpec]:
    if not experiment.config.judges:
        raise ConfigError(
            "the statements probe labels with judge models: add [[judges]] to the experiment, "
            'or set labels = "FILE" in [statements] to use a labelled set'
        )
    return list(experiment.config.judges)


def stage_params(
    base: GenerateConfig, model: ModelSpec, schema: dict[str, Any] | None, sample: int = 0
) -> GenerateConfig:
    """The stage's parameters under the model's own; a fixed seed moves on by the sample index,
    so that repeated runs are different draws and still reproducible."""
    params = base.merged(model.params)
    if schema is not None:
        params = params.merged(GenerateConfig(json_schema=schema))
    if params.seed is not None and sample:
        params = params.merged(GenerateConfig(seed=params.seed + sample))
    return params


def labelling_requests(
    experiment: Experiment,
    statements: pl.DataFrame,
    frames: Frames,
    task: str,
    pairs: set[tuple[str, str]] | None = None,
) -> list[Request]:
    """Every judge x language x sample request of one labelling task, statement by statement
    (so that a --limit cuts whole statements first). `pairs` restricts polarity to kept pairs."""
    settings = experiment.settings
    schema = (RELEVANCE_SCHEMA if task == "relevance" else POLARITY_SCHEMA) if settings.structured_output else None
    requests = []
    for row in statements.iter_rows(named=True):
        for dimension in settings.dimensions:
            if pairs is not None and (row["statement_id"], dimension) not in pairs:
                continue
            for language in labelling_languages(experiment):
                prompt = frames.render(task, language, statement_text(row, language), dimension)
                for judge in judges(experiment):
                    for sample in range(settings.labelling_samples):
                        meta = {
                            "task": task,
                            "statement_id": row["statement_id"],
                            "dimension": dimension,
                            "judge": judge.name,
                            "language": language,
                            "sample": sample,
                        }
                        requests.append(
                            Request(
                                judge,
                                (ChatMessage(role="user", content=prompt),),
                                stage_params(settings.labelling, judge, schema, sample),
                                sample,
                                meta,
                            )
                        )
    return requests


def cut_to_limit(requests: list[Request], ctx: RunContext) -> list[Request]:
    limit = ctx.limit if ctx.limit is not None else ctx.config.limit
    return requests if limit is None else requests[:limit]


# -- reading answers back ------------------------------------------------------------------------
def read_votes(store: RunStore, run_id: str, stage: str, frames: Frames) -> pl.DataFrame:
    """One row per stored request: statement_id, dimension, judge, language, sample, answer, failure."""
    df = store.requests_with_meta(run_id, stage)
    schema = {
        "statement_id": pl.Utf8,
        "dimension": pl.Utf8,
        "judge": pl.Utf8,
        "language": pl.Utf8,
        "sample": pl.Int64,
        "answer": pl.Utf8,
        "failure": pl.Utf8,
    }
    rows = []
    failure: str | None
    for row in df.iter_rows(named=True) if not df.is_empty() else []:
        if row.get("error") or row.get("response") is None:
            value, failure = None, f"call failed: {row.get('error') or 'not asked'}"
        elif stage == RELEVANCE_STAGE:
            relevant, failure = read_relevance(row["response"], frames.keywords.get(row["language"], {}))
            value = None if relevant is None else ("yes" if relevant else "no")
        else:
            polarity, failure = read_polarity(row["response"])
            value = None if polarity is None else str(polarity)
        rows.append(
            {
                **{k: row[k] for k in ("statement_id", "dimension", "judge", "language", "sample")},
                "answer": value,
                "failure": failure,
            }
        )
    return pl.DataFrame(rows, schema=schema, orient="row")


def voter_answers(votes: pl.DataFrame) -> pl.DataFrame:
    """Each voter's (judge x language) answer: its most frequent readable answer over samples."""
    rows = []
    for key, group in votes.group_by(VOTER_KEYS, maintain_order=True):
        answer, failure = most_frequent(group["answer"].to_list())
        rows.append({**dict(zip(VOTER_KEYS, key, strict=True)), "answer": answer, "failure": failure})
    return pl.DataFrame(
        rows, schema={**{k: pl.Utf8 for k in VOTER_KEYS}, "answer": pl.Utf8, "failure": pl.Utf8}, orient="row"
    )


def decide_relevance(voters: pl.DataFrame, n_voters: int, share: float) -> pl.DataFrame:
    """Per (statement, dimension): yes/no/failed votes and whether the pair is kept."""
    counted = voters.group_by("statement_id", "dimension", maintain_order=True).agg(
        (pl.col("answer") == "yes").sum().alias("relevance_yes"),
        (pl.col("answer") == "no").sum().alias("relevance_no"),
        pl.col("answer").is_null().sum().alias("relevance_failed"),
    )
    return counted.with_columns(
        pl.lit(n_voters).alias("relevance_voters"),
        pl.col("relevance_yes")
        .map_elements(lambda y: is_relevant(y, n_voters, share), return_dtype=pl.Boolean)
        .alias("relevant"),
    )


def decide_polarity(voters: pl.DataFrame) -> pl.DataFrame:
    """Per kept pair: the median polarity of the voters that answered, and how many did."""
    rows = []
    for (statement_id, dimension), group in voters.group_by("statement_id", "dimension", maintain_order=True):
        values = [int(v) for v in group["answer"].to_list() if v is not None]
        rows.append(
            {
                "statement_id": statement_id,
                "dimension": dimension,
                "polarity": polarity_median(values),
                "polarity_n": len(values),
                "polarity_failed": group.height - len(values),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "statement_id": pl.Utf8,
            "dimension": pl.Utf8,
            "polarity": pl.Float64,
            "polarity_n": pl.Int64,
            "polarity_failed": pl.Int64,
        },
        orient="row",
    )


# -- stages --------------------------------------------------------------------------------------
class LabellingResult(CallCounts):
    """A labelling stage's calls, or (`labels_file`) the labelled set it read instead of asking."""

    labels_file: str | None = None
    relevant_pairs: int | None = None
    labelled_pairs: int | None = None


def relevance_stage(ctx: RunContext) -> LabellingResult:
    if labels_file(ctx.experiment) is not None:
        return LabellingResult(labels_file=str(labels_file(ctx.experiment)))
    experiment = ctx.experiment
    frames = experiment_frames(experiment)
    statements = run_statements(ctx)
    requests = cut_to_limit(labelling_requests(experiment, statements, frames, "relevance"), ctx)
    counts = run_requests(ctx.store, ctx.run_id, RELEVANCE_STAGE, requests, show_progress=ctx.show_progress)
    n_voters = len(judges(experiment)) * len(labelling_languages(experiment))
    decided = decide_relevance(
        voter_answers(read_votes(ctx.store, ctx.run_id, RELEVANCE_STAGE, frames)),
        n_voters,
        experiment.settings.relevance_share,
    )
    ctx.store.save_results(
        ctx.run_id,
        RELEVANCE_STAGE,
        ((f"{r['statement_id']}|{r['dimension']}", r) for r in decided.iter_rows(named=True)),
    )
    return LabellingResult(**CallCounts.of(counts).model_dump(), relevant_pairs=int(decided["relevant"].sum() or 0))


def relevant_pairs(store: RunStore, run_id: str) -> set[tuple[str, str]]:
    decided = store.results(run_id, RELEVANCE_STAGE)
    if decided.is_empty():
        return set()
    kept = decided.filter(pl.col("relevant"))
    return set(zip(kept["statement_id"].to_list(), kept["dimension"].to_list(), strict=True))


def polarity_stage(ctx: RunContext) -> LabellingResult:
    if labels_file(ctx.experiment) is not None:
        return LabellingResult(labels_file=str(labels_file(ctx.experiment)))
    experiment = ctx.experiment
    frames = experiment_frames(experiment)
    statements = run_statements(ctx)
    pairs = relevant_pairs(ctx.store, ctx.run_id)
    requests = cut_to_limit(labelling_requests(experiment, statements, frames, "polarity", pairs), ctx)
    counts = run_requests(ctx.store, ctx.run_id, POLARITY_STAGE, requests, show_progress=ctx.show_progress)
    decided = decide_polarity(voter_answers(read_votes(ctx.store, ctx.run_id, POLARITY_STAGE, frames)))
    ctx.store.save_results(
        ctx.run_id,
        POLARITY_STAGE,
        ((f"{r['statement_id']}|{r['dimension']}", r) for r in decided.iter_rows(named=True)),
    )
    export_labelled_set(ctx.store, ctx.run_id, statements, frames, ctx.output_dir / "analysis")
    return LabellingResult(
        **CallCounts.of(counts).model_dump(), labelled_pairs=int(decided["polarity"].is_not_null().sum())
    )


# -- the labelled set ------------------------------------------------------------------------------
def labelled_set(store: RunStore, run_id: str, statements: pl.DataFrame) -> pl.DataFrame:
    """Every judged (statement, dimension) pair with its relevance votes and polarity label.

    `scored` marks the pairs that enter profiles: relevant, with a polarity that is not 0."""
    relevance = store.results(run_id, RELEVANCE_STAGE).drop("key", strict=False)
    if relevance.is_empty():
        raise ConfigError(f"run {run_id} has no relevance votes yet; run the labelling stages first")
    polarity = store.results(run_id, POLARITY_STAGE).drop("key", strict=False)
    if polarity.is_empty():
        polarity = pl.DataFrame(
            schema={
                "statement_id": pl.Utf8,
                "dimension": pl.Utf8,
                "polarity": pl.Float64,
                "polarity_n": pl.Int64,
                "polarity_failed": pl.Int64,
            }
        )
    labels = (
        relevance.join(polarity, on=["statement_id", "dimension"], how="left")
        .join(statements.select("statement_id", "text", "votes"), on="statement_id", how="left")
        .with_columns(pl.col("polarity").cast(pl.Float64))
        .with_columns(
            (pl.col("relevant") & pl.col("polarity").is_not_null() & (pl.col("polarity") != 0)).alias("scored")
        )
    )
    labels = labels.select(
        "statement_id",
        "dimension",
        "text",
        "votes",
        "relevance_yes",
        "relevance_no",
        "relevance_failed",
        "relevance_voters",
        "relevant",
        "polarity",
        "polarity_n",
        "polarity_failed",
        "scored",
    ).sort("statement_id", "dimension")
    return labels.with_columns(
        pl.lit(LABEL_FORMAT).alias("label_format"), pl.lit(label_set_id(labels)).alias("label_set")
    )


def label_set_id(labels: pl.DataFrame) -> str:
    """A short content hash of the decisions, so a profile can name the exact labels it used."""
    content = labels.select("statement_id", "dimension", "relevant", "polarity").sort("statement_id", "dimension")
    return hashlib.sha256(json.dumps(content.rows(), default=str).encode()).hexdigest()[:12]


def all_votes(store: RunStore, run_id: str, frames: Frames) -> pl.DataFrame:
    frames_of = [
        read_votes(store, run_id, stage, frames).with_columns(pl.lit(stage).alias("task"))
        for stage in (RELEVANCE_STAGE, POLARITY_STAGE)
    ]
    return pl.concat(frames_of, how="vertical").select("task", *VOTER_KEYS, "sample", "answer", "failure")


def export_labelled_set(
    store: RunStore, run_id: str, statements: pl.DataFrame, frames: Frames, directory: Path
) -> Path:
    """Write statement_labels (one row per pair) and label_votes (every vote) as CSV + Parquet."""
    labels = labelled_set(store, run_id, statements)
    votes = all_votes(store, run_id, frames).with_columns(pl.lit(labels["label_set"][0]).alias("label_set"))
    write_table_pair(votes, directory, VOTES_STEM)
    return write_table_pair(labels, directory, LABELS_STEM)


def load_labels(path: Path) -> pl.DataFrame:
    """A labelled set exported earlier (or made by hand): statement_id, dimension, polarity, and
    optionally relevant; polarity outside [-2, 2] is a one-line error."""
    from culturalign.errors import DataError
    from culturalign.tables import read_table, require_columns

    labels = read_table(path)
    require_columns(labels, ["statement_id", "dimension", "polarity"], f"labelled set {path.name}")
    labels = labels.with_columns(
        pl.col("statement_id").cast(pl.Utf8),
        pl.col("dimension").cast(pl.Utf8).str.to_lowercase(),
        pl.col("polarity").cast(pl.Float64, strict=False),
    )
    bad = labels.filter(pl.col("polarity").is_not_null() & ((pl.col("polarity") < -2) | (pl.col("polarity") > 2)))
    if bad.height:
        raise DataError(
            f"labelled set {path.name}: polarity {bad['polarity'][0]} of {bad['statement_id'][0]} "
            "is outside -2..2; fix the file"
        )
    relevant = (
        pl.col("relevant").cast(pl.Boolean, strict=False).fill_null(False)
        if "relevant" in labels.columns
        else pl.lit(True)
    )
    return labels.with_columns(relevant.alias("relevant")).with_columns(
        (pl.col("relevant") & pl.col("polarity").is_not_null() & (pl.col("polarity") != 0)).alias("scored")
    )


def export_labels(store_path: str | Path, run_id: str | None, output: str | Path) -> Path:
    """Write the labelled set of a stored run (latest without an id) to a CSV or Parquet file,
    and the per-judge votes beside it as <name>.votes.<ext>."""
    from culturalign.config import parse_experiment
    from culturalign.errors import DataError, UserError
    from culturalign.store.db import RunStore
    from culturalign.tables import write_table

    store_path, output = Path(store_path), Path(output)
    if not store_path.is_file():
        raise UserError(f"no run store at {store_path}; check the path")
    with RunStore(store_path) as store:
        run = store.run(run_id)
        if run.probe != "statements":
            raise UserError(f"run {run.run_id} is a {run.probe} run, not a statements run")
        experiment = parse_experiment(dict(run.config))
        try:
            statements = experiment_statements(experiment)
        except DataError:  # a relative statements path from elsewhere: export without the texts
            statements = pl.DataFrame(schema={"statement_id": pl.Utf8, "text": pl.Utf8, "votes": pl.Int64})
        labels = labelled_set(store, run.run_id, statements)
        try:
            frames = load_frames(beside_experiment(experiment, experiment.settings.frames))
        except ConfigError:  # frames given relative to an experiment file elsewhere: read with the shipped keywords
            frames = load_frames()
        votes = all_votes(store, run.run_id, frames)
    write_table(
        votes.with_columns(pl.lit(labels["label_set"][0]).alias("label_set")),
        output.with_name(f"{output.stem}.votes{output.suffix}"),
    )
    return write_table(labels, output)
