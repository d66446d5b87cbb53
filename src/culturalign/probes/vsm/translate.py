"""Translating the instrument's wording into prompt languages that no instrument file covers.

The texts (each item's question and option labels) go through the shared translation stage
(culturalign.translation): asked once per language of the configured `translator`, cached in
the run store under a key that holds the translator, resumable; a reviewed translation
(`culturalign translations export/import`) wins over the machine's. A language with its own
instrument file is used as that file gives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.errors import ConfigError, DataError
from culturalign.models.base import ModelSpec
from culturalign.probes.vsm.instrument import ItemText, Wording
from culturalign.translation.stage import TranslationJob, Translator, translate
from culturalign.translation.texts import Resolved, SourceText

if TYPE_CHECKING:
    from culturalign.store.db import RunStore

PROBE = "vsm"
SOURCE_LANGUAGE = "en"
MAX_TOKENS = 512


def source_wording(wording: Wording) -> dict[int, ItemText]:
    if SOURCE_LANGUAGE in wording:
        return wording[SOURCE_LANGUAGE]
    raise DataError(
        "the instrument files give no English wording to translate from; add the English file or every prompt language"
    )


def _key(item: int, option: int | None = None) -> str:
    return f"item{item:02d}" if option is None else f"item{item:02d}/option{option}"


def wording_texts(wording: Wording, languages: list[str]) -> list[SourceText]:
    """The texts of every prompt language that no instrument file covers."""
    missing = [lang for lang in languages if lang not in wording]
    if not missing:
        return []
    source = source_wording(wording)
    return [
        SourceText(PROBE, lang, key, text)
        for lang in missing
        for n, item in sorted(source.items())
        for key, text in [(_key(n), item.text), *((_key(n, k), o) for k, o in enumerate(item.options, start=1))]
    ]


def translation_job(wording: Wording, languages: list[str], translator: ModelSpec | None) -> TranslationJob:
    return TranslationJob(Translator(translator, MAX_TOKENS) if translator else None, wording_texts(wording, languages))


def complete_wording(
    wording: Wording,
    languages: list[str],
    translator: ModelSpec | None,
    store: RunStore,
    run_id: str,
    *,
    show_progress: bool = True,
    ask: bool = True,
) -> tuple[Wording, dict[str, int]]:
    """The wording in every prompt language (given files first, then reviewed or machine
    translations), and the engine's counts of the translation calls."""
    job = translation_job(wording, languages, translator)
    if not job.texts:
        return wording, {}
    outcome = translate(store, run_id, job.translator, job.texts, ask=ask, show_progress=show_progress)
    missing = sorted({r.text.language for r in outcome.resolved if r.origin == "missing"})
    if missing and translator is None:
        raise ConfigError(
            f"no instrument wording in {', '.join(missing)}: set translator (a model) in the vsm section of the experiment "
            "or add an instrument file for each of these languages"
        )
    if outcome.failed:
        raise DataError(
            f"{len(outcome.failed)} translation(s) of the wording failed (first: {outcome.failed[0]}); "
            "run again to retry them"
        )
    if missing:
        raise DataError(f"the wording in {', '.join(missing)} is not translated yet; start the run to translate it")
    done = dict(wording)
    source = source_wording(wording)
    for language in sorted({r.text.language for r in outcome.resolved}):
        done[language] = _assemble([r for r in outcome.resolved if r.text.language == language], language, source)
    return done, outcome.counts


def _assemble(resolved: list[Resolved], language: str, source: dict[int, ItemText]) -> dict[int, ItemText]:
    text = {r.text.key: r.translation for r in resolved}
    return {
        n: ItemText(n, text[_key(n)], tuple(text[_key(n, k)] for k in range(1, len(item.options) + 1)), language)
        for n, item in source.items()
    }
