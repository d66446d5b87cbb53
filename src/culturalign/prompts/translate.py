"""Translating prompt texts into a new language through a configured model, cached.

The instructions go in the system message and the text alone in the user message, so a
model answers with the translation only (and the mock backend's echo mode returns the text
unchanged, which is what the tests rely on). A translation that loses a placeholder is not
cached: the entry stays missing and the user is told how to supply it by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from culturalign.languages import language_name
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.registry import get_backend
from culturalign.prompts.templates import missing_placeholders
from culturalign.prompts.translations import TranslationEntry, missing_entries, translation_table, write_layer

_INSTRUCTIONS = (
    "You translate survey materials from English into {language}. Translate the user's text faithfully and "
    "naturally, as a native speaker would write it. Keep every placeholder in curly braces, such as {{n}} and "
    "{{topic}}, exactly as it is, and keep line breaks and numbering. Answer with the translation only."
)


@dataclass
class TranslationReport:
    language: str
    translated: int = 0
    failed: list[str] = field(default_factory=list)  # keys, with the reason after a colon


def translation_messages(text: str, language: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=_INSTRUCTIONS.format(language=language_name(language))),
        ChatMessage(role="user", content=text),
    ]


def clean_translation(text: str) -> str:
    """Strip what chat models wrap around a translation: whitespace and enclosing quotes."""
    text = text.strip()
    for left, right in (('"', '"'), ("“", "”"), ("«", "»"), ("'", "'")):
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            text = text[1:-1].strip()
    return text


def translate_missing(language: str, translator: ModelSpec, codebook: Any, items: Sequence[str]) -> TranslationReport:
    """Translate every entry of a language that no layer provides; cache the good ones."""
    missing = missing_entries(translation_table(language, codebook, items))
    report = TranslationReport(language)
    if not missing:
        return report
    answers = asyncio.run(_translate_all(missing, language, translator))
    good: dict[str, dict[str, str]] = {}
    for entry, (text, error) in zip(missing, answers, strict=True):
        if error:
            report.failed.append(f"{entry.key}: {error}")
            continue
        lost = missing_placeholders(entry.source, text)
        if lost or not text:
            report.failed.append(f"{entry.key}: the translation lost {' and '.join(lost) or 'its text'}")
            continue
        good[entry.key] = {"source": entry.source, "text": text, "model": translator.name}
    if good:
        write_layer(language, "machine", good)
    report.translated = len(good)
    return report


async def _translate_all(
    entries: list[TranslationEntry], language: str, translator: ModelSpec
) -> list[tuple[str, str | None]]:
    backend = get_backend(translator)
    gate = asyncio.Semaphore(translator.max_concurrency)
    params = GenerateConfig(temperature=0.0).merged(translator.params)

    async def one(entry: TranslationEntry) -> tuple[str, str | None]:
        async with gate:
            try:
                output = await backend.generate(translation_messages(entry.source, language), params)
            except Exception as exc:  # a backend bug must not lose the other translations
                return "", f"{type(exc).__name__}: {exc}"
        return (clean_translation(output.text), None) if output.ok else ("", output.error)

    try:
        return list(await asyncio.gather(*(one(e) for e in entries)))
    finally:
        await backend.aclose()
