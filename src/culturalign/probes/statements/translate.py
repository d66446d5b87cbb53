"""Translate stage: statements into every prompt and labelling language they are not written
in, through the shared translation stage (culturalign.translation: the `translator` model,
the run store, cached and resumable), unless the statement file already gives a
`text_<code>` column. A reviewed translation (`culturalign translations export/import`)
wins over the machine's. Without either, the statements stay in their own language inside
the translated frames, and the manifest says so.

Translations are also written to analysis/statement_translations.csv for reading beside the
results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from culturalign.probes.registry import TranslationCounts
from culturalign.probes.statements.statements import experiment_statements, labelling_languages
from culturalign.tables import write_table_pair
from culturalign.translation.stage import TranslationJob, Translator, translate
from culturalign.translation.texts import SourceText

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.probes.registry import RunContext
    from culturalign.store.db import RunStore

PROBE = "statements"
TRANSLATE_STAGE = "translate"
TRANSLATIONS_STEM = "statement_translations"
MAX_TOKENS = 300


def target_languages(experiment: Experiment) -> list[str]:
    return sorted(set(experiment.config.languages) | set(labelling_languages(experiment)))


def untranslated(experiment: Experiment, statements: pl.DataFrame) -> list[tuple[str, str, str]]:
    """(statement_id, language, text) for every statement lacking a text in a language it is asked in."""
    wanted = []
    for row in statements.iter_rows(named=True):
        for language in target_languages(experiment):
            given = row.get(f"text_{language}")
            if language != row["source_language"] and not (isinstance(given, str) and given.strip()):
                wanted.append((row["statement_id"], language, row["text"]))
    return wanted


def translation_job(experiment: Experiment, statements: pl.DataFrame | None = None) -> TranslationJob:
    """The statements to translate for an experiment, and its translator (None: none set)."""
    if statements is None:
        statements = experiment_statements(experiment)
    spec = experiment.settings.translator
    texts = [SourceText(PROBE, lang, sid, text) for sid, lang, text in untranslated(experiment, statements)]
    return TranslationJob(Translator(spec, MAX_TOKENS) if spec is not None else None, texts)


def statement_translations(
    experiment: Experiment, statements: pl.DataFrame, store: RunStore, run_id: str
) -> pl.DataFrame:
    """statement_id, language, translation: reviewed or stored machine translations (nothing is asked)."""
    job = translation_job(experiment, statements)
    outcome = translate(store, run_id, job.translator, job.texts, ask=False)
    rows = [(r.text.key, r.text.language, r.translation) for r in outcome.resolved if r.origin != "missing"]
    schema = {"statement_id": pl.Utf8, "language": pl.Utf8, "translation": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def with_translations(experiment: Experiment, statements: pl.DataFrame, store: RunStore, run_id: str) -> pl.DataFrame:
    """The statements with `text_<code>` filled from the run's translations where the file left them empty."""
    translations = statement_translations(experiment, statements, store, run_id)
    for language in sorted(set(translations["language"].to_list())):
        column = f"text_{language}"
        part = translations.filter(pl.col("language") == language).select(
            "statement_id", pl.col("translation").alias("_t")
        )
        statements = statements.join(part, on="statement_id", how="left")
        if column in statements.columns:
            statements = statements.with_columns(
                pl.when(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
                .then(pl.col("_t"))
                .otherwise(pl.col(column))
                .alias(column)
            )
        else:
            statements = statements.rename({"_t": column})
        statements = statements.drop("_t", strict=False)
    return statements


def translate_stage(ctx: RunContext) -> TranslationCounts:
    statements = experiment_statements(ctx.experiment)
    job = translation_job(ctx.experiment, statements)
    outcome = translate(ctx.store, ctx.run_id, job.translator, job.texts, show_progress=ctx.show_progress)
    if job.translator is None and not any(r.origin == "reviewed" for r in outcome.resolved):
        return TranslationCounts(untranslated=len(job.texts))
    translations = statement_translations(ctx.experiment, statements, ctx.store, ctx.run_id)
    source = statements.select("statement_id", pl.col("text").alias("source_text"))
    write_table_pair(
        translations.join(source, on="statement_id", how="left"), ctx.output_dir / "analysis", TRANSLATIONS_STEM
    )
    return TranslationCounts.of(outcome.counts, untranslated=len(job.texts) - translations.height)
