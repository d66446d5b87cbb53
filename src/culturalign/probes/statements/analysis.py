"""The analyze stage: stances + labels -> tidy tables and manifest.json in output/analysis.

Tables (CSV + Parquet): statement_labels (when the run labelled), stances, scores, profiles,
groups, language_effect, table3, hofstede (model profiles on 0-100 beside country scores),
failures. The manifest names the probe, run, seed, rounds, label set and definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from culturalign import __version__
from culturalign.errors import DataError
from culturalign.probes.answer_modes import is_tiny, modes_by_model, with_answer_modes
from culturalign.probes.registry import AnalysisSummary
from culturalign.probes.statements.evaluate import (
    EVALUATE_STAGE,
    STANCE_SCHEMA,
    current_labels,
)
from culturalign.probes.statements.labelling import (
    experiment_statements,
    labelling_languages,
    run_statements,
)
from culturalign.probes.statements.profiles import (
    dimension_profiles,
    group_view,
    language_effect,
    native_scores,
    table3_layout,
)
from culturalign.probes.statements.translate import untranslated
from culturalign.report.provenance import MANIFEST_NAME
from culturalign.tables import write_json, write_table_pair

if TYPE_CHECKING:
    from culturalign.probes.registry import RunContext

ANALYSIS_DIR = "analysis"
DEFINITIONS = {
    "polarity": "where agreeing with a statement places a person on a dimension: -2, -1, +1, +2 (high end of "
    "Hofstede's score = +); the label is the median over judges x labelling languages",
    "relevant": "at least the configured share of all judge x language votes said the statement bears on the dimension",
    "stance": "the most frequent readable agree/disagree over the evaluation runs; ties and unreadable answers are failures",
    "score": "polarity x (+1 agree, -1 disagree), per model, prompt language, statement and dimension",
    "profile mean": "mean score over the dimension's scored statements, in [-2, 2]; 95% percentile bootstrap "
    "interval over statements; n_statements is the number averaged",
    "0-100": "range scaling maps [-2, 2] linearly onto [0, 100]; observed scaling is min-max over the profiles shown",
    "group view": "per statement, the median score of each group's models; only statements where the groups' "
    "medians differ enter the group mean",
    "language effect": "paired bootstrap test (centred differences) of the mean score difference between two prompt "
    "languages on the statements scored in both; p < alpha is significant",
}


def country_scores(
    scores_setting: str | None, countries: list[str], source_dir: Path | None
) -> tuple[pl.DataFrame, str]:
    """Hofstede country scores (country, dimension, value) and a note on where they came from.

    The default ('published') is optional: when it was never fetched the comparison is left
    out with a note; an explicit file that cannot be read is an error."""
    from culturalign.sources import hofstede

    empty = pl.DataFrame(schema={"country": pl.Utf8, "dimension": pl.Utf8, "value": pl.Float64, "source": pl.Utf8})
    if not scores_setting or scores_setting.lower() == "none" or not countries:
        return empty, "no country scores configured"
    if scores_setting == "published":
        try:
            table = hofstede.load_scores("published")
        except DataError as exc:
            return empty, str(exc)
        where = "Hofstede's published table"
    else:
        path = Path(scores_setting)
        if not path.is_absolute() and source_dir is not None:
            path = source_dir / path
        table = hofstede.read_scores(path)
        where = path.name
    rows = [hofstede.TableRow(key=c, code=c, name=c) for c in countries]
    notes: list[str] = []
    found = hofstede.ground_truth(table, rows, fallback=False, missing="skip", warn=notes.append)
    return found, "; ".join([f"country scores from {where}", *notes])


def hofstede_beside(profiles: pl.DataFrame, countries: pl.DataFrame) -> pl.DataFrame:
    """Model profiles on 0-100 and country scores in one long table (kind, name, language, dimension, value...)."""
    models = profiles.select(
        pl.lit("model").alias("kind"),
        pl.col("model").alias("name"),
        "language",
        "dimension",
        pl.col("mean_100").alias("value"),
        pl.col("ci_low_100").alias("ci_low"),
        pl.col("ci_high_100").alias("ci_high"),
        pl.col("n_statements"),
    )
    people = countries.select(
        pl.lit("country").alias("kind"),
        pl.col("country").alias("name"),
        pl.lit(None, pl.Utf8).alias("language"),
        "dimension",
        "value",
        pl.lit(None, pl.Float64).alias("ci_low"),
        pl.lit(None, pl.Float64).alias("ci_high"),
        pl.lit(None, pl.Int64).alias("n_statements"),
    )
    return pl.concat([models, people], how="vertical_relaxed")


def stored_stances(ctx: RunContext) -> pl.DataFrame:
    """The evaluate stage's stances; empty (with the columns) when no statement was scored."""
    stances = ctx.store.results(ctx.run_id, EVALUATE_STAGE)
    if stances.is_empty():
        return pl.DataFrame(schema=STANCE_SCHEMA)
    stances = stances.drop("key")
    missing = [
        pl.lit("free" if c == "answer_mode" else None).alias(c) for c in STANCE_SCHEMA if c not in stances.columns
    ]
    return stances.with_columns(missing).with_columns(pl.col(c).cast(t) for c, t in STANCE_SCHEMA.items())


def failure_summary(stances: pl.DataFrame) -> pl.DataFrame:
    """Per model and language: statements asked, stances read, and failures by reason."""
    return (
        stances.group_by("model", "language")
        .agg(
            pl.len().alias("statements"),
            pl.col("stance").is_not_null().sum().alias("stances"),
            pl.col("n_failed").sum().alias("unreadable_runs"),
            (pl.col("failure") == "tie between answers").sum().alias("ties"),
            (pl.col("failure") == "no readable answer").sum().alias("no_readable_answer"),
        )
        .sort("model", "language")
    )


def analyze(ctx: RunContext) -> Path:
    """Write every table and the manifest; returns the analysis folder."""
    from culturalign.probes.statements.profiles import statement_scores

    experiment, settings = ctx.experiment, ctx.experiment.settings
    out = ctx.output_dir / ANALYSIS_DIR
    labels = current_labels(experiment, ctx.store, ctx.run_id)
    stances = stored_stances(ctx)
    scores = statement_scores(stances, labels)
    seed = experiment.config.seed
    profiles = dimension_profiles(scores, settings.bootstrap_rounds, seed, scaling=settings.scaling)
    groups = group_view(scores, settings.group_by, settings.bootstrap_rounds, seed + 1, scaling=settings.scaling)
    if settings.native_languages:
        native = native_scores(scores, settings.group_by, settings.native_languages)
        groups = pl.concat(
            [
                groups,
                group_view(native, settings.group_by, settings.bootstrap_rounds, seed + 3, scaling=settings.scaling),
            ],
            how="diagonal_relaxed",
        )
    effects = language_effect(scores, settings.bootstrap_rounds, seed + 2, settings.alpha)
    countries, country_note = country_scores(
        settings.scores, settings.countries, experiment.source.parent if experiment.source else None
    )
    tables = {
        "stances": stances,
        "scores": scores,
        "profiles": profiles,
        "groups": groups,
        "language_effect": effects,
        "table3": table3_layout(profiles, effects),
        "hofstede": hofstede_beside(profiles, countries),
        "failures": failure_summary(stances),
    }
    if settings.labels is not None:
        tables["statement_labels"] = labels
    modes = modes_by_model(settings, experiment.config.models)
    for stem, table in tables.items():
        write_table_pair(with_answer_modes(table, modes), out, stem)
    scored = labels.filter(pl.col("scored"))
    manifest = {
        "probe": "statements",
        "run_id": ctx.run_id,
        "package_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "rounds": settings.bootstrap_rounds,
        "alpha": settings.alpha,
        "scaling": settings.scaling,
        "group_by": settings.group_by,
        "native_languages": settings.native_languages or None,
        "ground_truth": country_note,
        "label_set": str(labels["label_set"][0]) if "label_set" in labels.columns and labels.height else "from file",
        "labels_source": str(settings.labels) if settings.labels else "this run's judges",
        "judges": [j.name for j in experiment.config.judges],
        "labelling_languages": labelling_languages(experiment),
        "languages": list(experiment.config.languages),
        "models": [m.name for m in experiment.config.models],
        "answer_modes": modes,
        "tiny_models": [m.name for m in experiment.config.models if is_tiny(m)],
        "statements_kept": experiment_statements(experiment).height,
        "untranslated_statements": len(untranslated(experiment, run_statements(ctx))),
        "min_votes": settings.min_votes,
        "evaluation_samples": settings.evaluation_samples,
        "scored_pairs": {d: int(scored.filter(pl.col("dimension") == d).height) for d in settings.dimensions},
        "definitions": DEFINITIONS,
    }
    write_json(out / MANIFEST_NAME, manifest)
    return out


def analysis_stage(ctx: RunContext) -> AnalysisSummary:
    return AnalysisSummary(folder=analyze(ctx))
