"""Every text the wvs prompts are built from, per language, and where its translation comes from.

A text is a key (`chat/t01`, `completion/c01`, `topic/<item>/<index>`) with its English
source. Its translation is chosen by culturalign.translation (a reviewed translation first,
then the package's hand-checked templates and the codebook's own topic phrases, then the
translator model's answer from the run store); a text with none is missing, and the run
translates it or stops and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from culturalign.errors import DataError, UserError
from culturalign.languages import check_language
from culturalign.prompts.templates import (
    PLACEHOLDERS,
    SOURCE_LANGUAGE,
    TemplateSet,
    assemble_templates,
    shipped_template_texts,
    source_templates,
    template_texts,
)
from culturalign.translation.texts import Origin, Resolved, SourceText, TextId, resolve

PROBE = "wvs"


@dataclass(frozen=True)
class LanguagePrompts:
    """What sampling needs for one language: its templates and each item's topic phrases."""

    language: str
    templates: TemplateSet
    topics: dict[str, tuple[str, ...]]


# -- the codebook, through the names its module promises --------------------------------
def load_default_codebook() -> Any:
    from culturalign.probes.wvs.sources.codebook import load_codebook

    return load_codebook()


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


# -- the texts of one language ---------------------------------------------------------
def prompt_texts(language: str, codebook: Any, items: Sequence[str]) -> list[SourceText]:
    """Every text a language's prompts need, with what the package or codebook gives for it."""
    language = check_language(language)
    sources = _source_texts(codebook, items)
    given: dict[str, tuple[str, Origin]] = {}
    if language == SOURCE_LANGUAGE:
        given = {key: (text, "source") for key, text in sources.items()}
    else:
        given.update({key: (text, "shipped") for key, text in shipped_template_texts(language).items()})
        for item in items:
            phrases = codebook_phrases(codebook, item, language)
            if phrases:
                # The codebook has its own phrasing in this language: those phrases replace
                # the English ones (they need not be as many).
                for key in [k for k in sources if k.startswith(f"topic/{item}/")]:
                    del sources[key]
                for index, phrase in enumerate(phrases):
                    sources.setdefault(topic_key(item, index), phrase)
                    given[topic_key(item, index)] = (phrase, "codebook")
    texts = []
    for key, source in sources.items():
        kept = tuple(p for p in PLACEHOLDERS if p in source)
        if key in given:
            text, origin = given[key]
            texts.append(SourceText(PROBE, language, key, source, text, origin, kept))
        else:
            texts.append(SourceText(PROBE, language, key, source, placeholders=kept))
    return texts


def translation_table(
    language: str, codebook: Any, items: Sequence[str], machine: Mapping[TextId, str] | None = None
) -> dict[str, Resolved]:
    """Each text of a language by key, resolved (reviewed, shipped/codebook, machine, missing)."""
    return {r.text.key: r for r in resolve(prompt_texts(language, codebook, items), machine)}


def _source_texts(codebook: Any, items: Sequence[str]) -> dict[str, str]:
    texts = template_texts(source_templates())
    for item in items:
        phrases = codebook_phrases(codebook, item, SOURCE_LANGUAGE)
        if not phrases:
            raise DataError(f"the codebook has no English topic for item {item}; add one to the codebook")
        texts.update({topic_key(item, i): phrase for i, phrase in enumerate(phrases)})
    return texts


def missing_entries(table: Mapping[str, Resolved]) -> list[Resolved]:
    return [entry for entry in table.values() if entry.origin == "missing"]


def language_prompts(language: str, codebook: Any, items: Sequence[str]) -> LanguagePrompts:
    """Templates and topics of a language without machine translations (shipped, codebook, reviewed)."""
    return prompts_from_table(language, translation_table(language, codebook, items), items)


def prompts_from_table(language: str, table: Mapping[str, Resolved], items: Sequence[str]) -> LanguagePrompts:
    """Templates and topics of a language, or a one-line error saying how to fill the gaps."""
    missing = missing_entries(table)
    if missing:
        raise DataError(
            f"{len(missing)} prompt text(s) have no {language} translation (first: {missing[0].text.key}); "
            f"set a translator model in the [wvs] section, or fill them in with "
            f"`culturalign translations export --language {language}` and `culturalign translations import`"
        )
    return _assemble(language, {key: r.translation for key, r in table.items()}, items)


def source_fallback_prompts(language: str, table: Mapping[str, Resolved], items: Sequence[str]) -> LanguagePrompts:
    """As prompts_from_table, with English standing in for anything missing (for estimates only)."""
    texts = {key: r.translation if r.origin != "missing" else r.text.source for key, r in table.items()}
    return _assemble(language, texts, items)


def _assemble(language: str, texts: Mapping[str, str], items: Sequence[str]) -> LanguagePrompts:
    templates = {key: text for key, text in texts.items() if not key.startswith("topic/")}
    topics: dict[str, tuple[str, ...]] = {}
    for item in items:
        prefix = f"topic/{item}/"
        keys = sorted((k for k in texts if k.startswith(prefix)), key=lambda k: int(k.rsplit("/", 1)[1]))
        topics[item] = tuple(texts[k] for k in keys)
    return LanguagePrompts(language, assemble_templates(language, templates), topics)
