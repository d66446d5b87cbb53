"""Every text a prompt is built from, per language, with where it came from.

An entry is a key (`chat/t01`, `completion/c01`, `topic/<item>/<index>`) with its English
source and its text in one language. Layers, strongest first:
  reviewed  a file a person imported (`culturalign translations import`)
  shipped   the package's hand-checked templates, and the codebook's own topic phrases
  machine   a translation by the configured translator model, cached in the user cache
A key with none of these is missing: the run translates it, or stops and says how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from culturalign.errors import DataError, UserError
from culturalign.languages import check_language
from culturalign.paths import cache_subdir
from culturalign.prompts.templates import (
    SOURCE_LANGUAGE,
    TemplateSet,
    assemble_templates,
    missing_placeholders,
    shipped_template_texts,
    source_templates,
    template_texts,
)
from culturalign.tables import read_table, require_columns, write_json, write_table

Origin = Literal["source", "shipped", "codebook", "machine", "reviewed", "missing"]
EXPORT_COLUMNS = ["language", "key", "source", "text", "origin"]


@dataclass(frozen=True)
class TranslationEntry:
    key: str
    source: str
    text: str
    origin: Origin


@dataclass(frozen=True)
class LanguagePrompts:
    """What sampling needs for one language: its templates and each item's topic phrases."""

    language: str
    templates: TemplateSet
    topics: dict[str, tuple[str, ...]]


# -- the codebook, through the names its module promises --------------------------------
def codebook_phrases(codebook: Any, item_key: str, language: str) -> list[str]:
    """The item's topic and its paraphrases in a language (empty when the codebook has none)."""
    item = codebook.item(item_key)
    try:
        phrases = [item.topic(language), *(item.paraphrases(language) or [])]
    except (LookupError, ValueError, UserError):
        return []
    unique: list[str] = []
    for phrase in phrases:
        if phrase and str(phrase).strip() and str(phrase).strip() not in unique:
            unique.append(str(phrase).strip())
    return unique


def topic_key(item_key: str, index: int) -> str:
    return f"topic/{item_key}/{index}"


# -- cache layers ----------------------------------------------------------------------
def _layer_path(language: str, layer: Literal["machine", "reviewed"]) -> Path:
    return cache_subdir("translations") / f"{language}.{layer}.json"


def read_layer(language: str, layer: Literal["machine", "reviewed"]) -> dict[str, dict[str, str]]:
    path = _layer_path(language, layer)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise DataError(f"the cached translations {path} are damaged; delete the file and run again") from None
    return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("text"), str)}


def write_layer(language: str, layer: Literal["machine", "reviewed"], entries: dict[str, dict[str, str]]) -> Path:
    """Write a cache layer atomically (temp file + rename), merged with what is there."""
    path = _layer_path(language, layer)
    merged = {**read_layer(language, layer), **entries}
    return write_json(path, merged, indent=1, sort_keys=True)


# -- the table of one language ---------------------------------------------------------
def translation_table(language: str, codebook: Any, items: Sequence[str]) -> dict[str, TranslationEntry]:
    """Every entry a language's prompts need, resolved through the layers."""
    language = check_language(language)
    sources = _source_texts(codebook, items)
    base: dict[str, tuple[str, Origin]] = {}
    if language == SOURCE_LANGUAGE:
        base = {key: (text, "source") for key, text in sources.items()}
    else:
        base.update({key: (text, "shipped") for key, text in shipped_template_texts(language).items()})
        for item in items:
            phrases = codebook_phrases(codebook, item, language)
            if phrases:
                # The codebook has its own phrasing in this language: those phrases replace
                # the English ones (they need not be as many).
                for key in [k for k in sources if k.startswith(f"topic/{item}/")]:
                    del sources[key]
                for index, phrase in enumerate(phrases):
                    sources.setdefault(topic_key(item, index), phrase)
                    base[topic_key(item, index)] = (phrase, "codebook")
    machine = read_layer(language, "machine")
    reviewed = read_layer(language, "reviewed")
    table: dict[str, TranslationEntry] = {}
    for key, source in sources.items():
        if key in reviewed:
            table[key] = TranslationEntry(key, source, reviewed[key]["text"], "reviewed")
        elif key in base:
            text, origin = base[key]
            table[key] = TranslationEntry(key, source, text, origin)
        elif key in machine and machine[key].get("source") == source:
            table[key] = TranslationEntry(key, source, machine[key]["text"], "machine")
        else:
            table[key] = TranslationEntry(key, source, "", "missing")
    return table


def _source_texts(codebook: Any, items: Sequence[str]) -> dict[str, str]:
    texts = template_texts(source_templates())
    for item in items:
        phrases = codebook_phrases(codebook, item, SOURCE_LANGUAGE)
        if not phrases:
            raise DataError(f"the codebook has no English topic for item {item}; add one to the codebook")
        texts.update({topic_key(item, i): phrase for i, phrase in enumerate(phrases)})
    return texts


def missing_entries(table: dict[str, TranslationEntry]) -> list[TranslationEntry]:
    return [entry for entry in table.values() if entry.origin == "missing"]


def language_prompts(language: str, codebook: Any, items: Sequence[str]) -> LanguagePrompts:
    """Templates and topics of a language, or a one-line error saying how to fill the gaps."""
    table = translation_table(language, codebook, items)
    missing = missing_entries(table)
    if missing:
        raise DataError(
            f"{len(missing)} prompt text(s) have no {language} translation (first: {missing[0].key}); "
            f"set a translator model in the [wvs] section, or fill them in with "
            f"`culturalign translations export --language {language}` and `culturalign translations import`"
        )
    return _assemble(language, table, items)


def source_fallback_prompts(language: str, codebook: Any, items: Sequence[str]) -> LanguagePrompts:
    """As language_prompts, with English standing in for anything missing (for estimates only)."""
    table = translation_table(language, codebook, items)
    filled = {
        key: entry if entry.origin != "missing" else TranslationEntry(key, entry.source, entry.source, "source")
        for key, entry in table.items()
    }
    return _assemble(language, filled, items)


def _assemble(language: str, table: dict[str, TranslationEntry], items: Sequence[str]) -> LanguagePrompts:
    texts = {key: entry.text for key, entry in table.items() if not key.startswith("topic/")}
    topics: dict[str, tuple[str, ...]] = {}
    for item in items:
        prefix = f"topic/{item}/"
        keys = sorted((k for k in table if k.startswith(prefix)), key=lambda k: int(k.rsplit("/", 1)[1]))
        topics[item] = tuple(table[k].text for k in keys)
    return LanguagePrompts(language, assemble_templates(language, texts), topics)


# -- export and import for human review ------------------------------------------------
def translations_frame(language: str, codebook: Any, items: Sequence[str]) -> pl.DataFrame:
    table = translation_table(language, codebook, items)
    rows = [(language, e.key, e.source, e.text, e.origin) for e in table.values()]
    return pl.DataFrame(rows, schema=EXPORT_COLUMNS, orient="row")


def export_translations(language: str, path: str | Path, codebook: Any, items: Sequence[str]) -> Path:
    """Write a language's prompt texts for review: edit the `text` column, then import the file."""
    return write_table(translations_frame(language, codebook, items), path)


def import_translations(path: str | Path, codebook: Any, items: Sequence[str]) -> dict[str, int]:
    """Store reviewed translations from a CSV/Parquet file; they override every other layer.

    Rows with an empty text are skipped. Returns the number of entries stored per language."""
    frame = read_table(path)
    require_columns(frame, ["language", "key", "text"], Path(path).name)
    by_language: dict[str, dict[str, dict[str, str]]] = {}
    sources: dict[str, dict[str, str]] = {}
    for row in frame.iter_rows(named=True):
        text = str(row["text"]).strip() if row["text"] is not None else ""
        if not text:
            continue
        language = check_language(str(row["language"]))
        if language not in sources:
            table = translation_table(language, codebook, items)
            sources[language] = {key: entry.source for key, entry in table.items()}
        key = str(row["key"])
        if key not in sources[language]:
            raise DataError(f"{Path(path).name}: unknown key {key!r} for language {language}; export a fresh file")
        lost = missing_placeholders(sources[language][key], text)
        if lost:
            raise DataError(f"{Path(path).name}: the {language} text of {key} lacks {' and '.join(lost)}; put it back")
        by_language.setdefault(language, {})[key] = {"source": sources[language][key], "text": text}
    for language, entries in by_language.items():
        write_layer(language, "reviewed", entries)
    return {language: len(entries) for language, entries in by_language.items()}


def origins(table: dict[str, TranslationEntry]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in table.values():
        counts[entry.origin] = counts.get(entry.origin, 0) + 1
    return counts


def languages_with_reviews() -> Iterable[str]:
    return sorted(p.name.split(".")[0] for p in cache_subdir("translations").glob("*.reviewed.json"))
