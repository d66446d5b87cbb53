"""Hypothetical-survey templates: the English source and the shipped, hand-checked translations.

Templates are data (package files), addressed by entry keys that stay the same in every
language, so that a translation is simply a mapping key -> text:
  chat/t01 ...       instructions for chat models
  completion/c01 ... document openings for base models; they end where the list begins
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from culturalign.errors import DataError
from culturalign.paths import package_data

SOURCE_LANGUAGE = "en"
SURVEY_FILE_STEM = "wvs_survey"
PLACEHOLDERS = ("{n}", "{topic}")
TemplateKind = Literal["chat", "completion"]
KINDS: tuple[TemplateKind, ...] = ("chat", "completion")


@dataclass(frozen=True)
class Template:
    key: str  # e.g. "chat/t01"; the same in every language
    text: str
    list_start: str = ""  # what a completion frame has already written of the list, e.g. "1."

    @property
    def kind(self) -> TemplateKind:
        return "chat" if self.key.startswith("chat/") else "completion"

    @property
    def template_id(self) -> str:
        return self.key.split("/", 1)[1]

    def render(self, *, n: int, topic: str) -> str:
        # Plain replacement, not str.format: a topic phrase may hold braces of its own.
        return self.text.replace("{n}", str(n)).replace("{topic}", topic)


@dataclass(frozen=True)
class TemplateSet:
    """The templates of one language, in a fixed order (sampling indexes into it)."""

    language: str
    chat: tuple[Template, ...]
    completion: tuple[Template, ...]
    # (regex, replacement) pairs that fit a topic phrase into the templates' grammar
    topic_rewrites: tuple[tuple[str, str], ...] = ()

    def adapt_topic(self, topic: str) -> str:
        for pattern, replacement in self.topic_rewrites:
            topic = re.sub(pattern, replacement, topic, count=1)
        return topic

    def of_kind(self, kind: TemplateKind) -> tuple[Template, ...]:
        return self.chat if kind == "chat" else self.completion


def missing_placeholders(source: str, text: str) -> list[str]:
    """Placeholders of the source that a translation lost."""
    return [p for p in PLACEHOLDERS if p in source and p not in text]


def source_file() -> Path:
    return package_data("prompts", f"{SURVEY_FILE_STEM}.{SOURCE_LANGUAGE}.toml")


def shipped_translation_file(language: str) -> Path:
    return package_data("translations", f"{SURVEY_FILE_STEM}.{language}.toml")


def shipped_languages() -> list[str]:
    folder = package_data("translations")
    langs = {p.name.split(".")[-2] for p in folder.glob(f"{SURVEY_FILE_STEM}.*.toml")}
    return sorted(langs | {SOURCE_LANGUAGE})


@cache
def source_templates() -> TemplateSet:
    return _read_template_file(source_file(), SOURCE_LANGUAGE)


@cache
def shipped_template_texts(language: str) -> dict[str, str]:
    """key -> text of the templates shipped for a language (empty when none are shipped)."""
    if language == SOURCE_LANGUAGE:
        return template_texts(source_templates())
    path = shipped_translation_file(language)
    if not path.exists():
        return {}
    return template_texts(_read_template_file(path, language))


def template_texts(templates: TemplateSet) -> dict[str, str]:
    return {t.key: t.text for t in (*templates.chat, *templates.completion)}


def assemble_templates(language: str, texts: dict[str, str]) -> TemplateSet:
    """The source's templates with their texts replaced by a language's version (same keys, same order).

    A completion frame must still end where the list starts, so a translation that dropped
    the list start gets it back."""
    source = source_templates()

    def localise(template: Template) -> Template:
        text = texts[template.key]
        if template.list_start and not text.rstrip().endswith(template.list_start):
            text = text.rstrip() + "\n\n" + template.list_start
        return Template(template.key, text, template.list_start)

    return TemplateSet(
        language,
        tuple(localise(t) for t in source.chat),
        tuple(localise(t) for t in source.completion),
        shipped_topic_rewrites(language),
    )


@cache
def shipped_topic_rewrites(language: str) -> tuple[tuple[str, str], ...]:
    path = source_file() if language == SOURCE_LANGUAGE else shipped_translation_file(language)
    if not path.exists():
        return ()
    return _read_template_file(path, language).topic_rewrites


def _read_template_file(path: Path, language: str) -> TemplateSet:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read the prompt templates {path.name}: {exc}") from None
    templates: dict[TemplateKind, list[Template]] = {"chat": [], "completion": []}
    for kind in KINDS:
        for entry in data.get(kind, []):
            if not isinstance(entry, dict) or not entry.get("id") or not entry.get("text"):
                raise DataError(f"{path.name}: every [[{kind}]] entry needs an id and a text")
            text = str(entry["text"])
            if "{topic}" not in text:
                raise DataError(f"{path.name}: template {kind}/{entry['id']} lacks the {{topic}} placeholder")
            templates[kind].append(Template(f"{kind}/{entry['id']}", text, str(entry.get("list_start", ""))))
    if not templates["chat"] or not templates["completion"]:
        raise DataError(f"{path.name}: needs at least one [[chat]] template and one [[completion]] frame")
    rewrites = []
    for rule in data.get("topic_rewrite", []):
        try:
            re.compile(rule["pattern"])
            rewrites.append((str(rule["pattern"]), str(rule["replacement"])))
        except (KeyError, TypeError, re.error):
            raise DataError(
                f"{path.name}: every [[topic_rewrite]] needs a valid regex pattern and a replacement"
            ) from None
    return TemplateSet(language, tuple(templates["chat"]), tuple(templates["completion"]), tuple(rewrites))
