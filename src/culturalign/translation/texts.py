"""The texts a probe needs in each language, and how each one's translation is chosen.

Strongest first: a person's reviewed translation (imported with `culturalign translations
import`, kept in the user cache, applied only while its English source is unchanged), a
translation the package or the experiment's own files give, the translator model's answer
from the run store, else none ("missing").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from culturalign.errors import DataError
from culturalign.paths import cache_subdir
from culturalign.tables import write_json

Origin = Literal["source", "shipped", "codebook", "given", "reviewed", "machine", "missing"]
TextId = tuple[str, str, str]  # probe, language, key


@dataclass(frozen=True)
class SourceText:
    """One text a probe needs in one language, with the English (or own-language) source."""

    probe: str
    language: str
    key: str
    source: str
    given: str | None = None  # shipped with the package or given by the experiment's files
    given_origin: Origin = "shipped"
    placeholders: tuple[str, ...] = ()  # what a translation must keep, e.g. "{topic}"

    @property
    def id(self) -> TextId:
        return (self.probe, self.language, self.key)


@dataclass(frozen=True)
class Resolved:
    text: SourceText
    translation: str  # empty when missing
    origin: Origin


def reviewed_path(probe: str, language: str) -> Path:
    return cache_subdir("translations") / "reviewed" / f"{probe}.{language}.json"


def read_reviewed(probe: str, language: str) -> dict[str, dict[str, str]]:
    """key -> {"source", "text"} of a probe's reviewed translations in one language."""
    path = reviewed_path(probe, language)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise DataError(f"the reviewed translations {path} are damaged; delete the file and import again") from None
    return {
        k: v
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("text"), str) and isinstance(v.get("source"), str)
    }


def write_reviewed(probe: str, language: str, entries: Mapping[str, Mapping[str, str]]) -> Path:
    """Merge entries into the reviewed layer, written atomically (temp file + rename)."""
    merged = {**read_reviewed(probe, language), **{k: dict(v) for k, v in entries.items()}}
    return write_json(reviewed_path(probe, language), merged, indent=1, sort_keys=True)


def resolve(texts: Sequence[SourceText], machine: Mapping[TextId, str] | None = None) -> list[Resolved]:
    """Each text's translation and its origin: reviewed, given, machine, else missing."""
    machine = machine or {}
    reviewed: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    resolved = []
    for text in texts:
        layer = reviewed.setdefault((text.probe, text.language), read_reviewed(text.probe, text.language))
        entry = layer.get(text.key)
        if entry is not None and entry["source"] == text.source:
            resolved.append(Resolved(text, entry["text"], "reviewed"))
        elif text.given is not None:
            resolved.append(Resolved(text, text.given, text.given_origin))
        elif text.id in machine:
            resolved.append(Resolved(text, machine[text.id], "machine"))
        else:
            resolved.append(Resolved(text, "", "missing"))
    return resolved


def lost_placeholders(text: SourceText, translation: str) -> list[str]:
    return [p for p in text.placeholders if p not in translation]


def origin_counts(resolved: Sequence[Resolved]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in resolved:
        counts[r.origin] = counts.get(r.origin, 0) + 1
    return counts
