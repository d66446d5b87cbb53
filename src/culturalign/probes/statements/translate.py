"""Translate stage: statements into every prompt and labelling language they are not written
in, through the `translator` model and the run store (cached, resumable), unless the
statement file already gives a `text_<code>` column. Without a translator the statements
stay in their own language inside the translated frames, and the manifest says so.

Translations are written to analysis/statement_translations.csv for human review; a
corrected copy can be fed back as `text_<code>` columns of the statement file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import GenerateConfig
from culturalign.probes.registry import CallCounts
from culturalign.prompts.translate import clean_translation, translation_messages
from culturalign.tables import write_table_pair

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.probes.registry import RunContext
    from culturalign.store.db import RunStore

TRANSLATE_STAGE = "translate"
TRANSLATIONS_STEM = "statement_translations"


def target_languages(experiment: Experiment) -> list[str]:
    from culturalign.probes.statements.labelling import labelling_languages

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


def translation_requests(experiment: Experiment, statements: pl.DataFrame) -> list[Request]:
    translator = experiment.settings.translator
    if translator is None:
        return []
    params = GenerateConfig(temperature=0.0, max_tokens=300).merged(translator.params)
    return [
        Request(
            translator,
            tuple(translation_messages(text, language)),
            params,
            0,
            {"task": "translation", "statement_id": sid, "language": language},
        )
        for sid, language, text in untranslated(experiment, statements)
    ]


def stored_translations(store: RunStore, run_id: str) -> pl.DataFrame:
    """statement_id, language, translation (answered calls only)."""
    df = store.requests_with_meta(run_id, TRANSLATE_STAGE)
    schema = {"statement_id": pl.Utf8, "language": pl.Utf8, "translation": pl.Utf8}
    if df.is_empty():
        return pl.DataFrame(schema=schema)
    answered = df.filter(pl.col("response").is_not_null())
    rows = [
        (r["statement_id"], r["language"], clean_translation(r["response"])) for r in answered.iter_rows(named=True)
    ]
    return pl.DataFrame([r for r in rows if r[2]], schema=schema, orient="row")


def with_translations(statements: pl.DataFrame, store: RunStore, run_id: str) -> pl.DataFrame:
    """The statements with `text_<code>` filled from the run's translations where the file left them empty."""
    translations = stored_translations(store, run_id)
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


class TranslationCounts(CallCounts):
    untranslated: int = 0


def translate_stage(ctx: RunContext) -> TranslationCounts:
    from culturalign.probes.statements.labelling import experiment_statements

    statements = experiment_statements(ctx.experiment)
    missing = untranslated(ctx.experiment, statements)
    if ctx.experiment.settings.translator is None:
        return TranslationCounts(untranslated=len(missing))
    counts = run_requests(
        ctx.store,
        ctx.run_id,
        TRANSLATE_STAGE,
        translation_requests(ctx.experiment, statements),
        show_progress=ctx.show_progress,
    )
    translations = stored_translations(ctx.store, ctx.run_id)
    source = statements.select("statement_id", pl.col("text").alias("source_text"))
    write_table_pair(
        translations.join(source, on="statement_id", how="left"), ctx.output_dir / "analysis", TRANSLATIONS_STEM
    )
    return TranslationCounts(**CallCounts.of(counts).model_dump(), untranslated=len(missing) - translations.height)
