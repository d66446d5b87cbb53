"""Per-language codebook files: the texts of one language, kept beside the codebook.

A codebook `wvs.toml` may have a folder `wvs/` beside it holding one file per language,
`<code>.toml` (ISO 639-1), so that adding a language is adding one file. Such a file has a
`[meta]` table (produced_by, reviewed_by, review_notes) and one `[items.<key>]` table per
item of the codebook (topic, paraphrases, pro, con). A language file must cover every item:
a gap is a one-line error naming the language and the item, found when the codebook loads,
before any model is asked anything.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from culturalign.errors import ConfigError

TEXT_FIELDS = ("topic", "paraphrases", "pro", "con")


def language_folder(codebook_path: Path) -> Path:
    return codebook_path.with_suffix("")


def merge_language_files(raw: dict[str, Any], codebook_path: Path) -> dict[str, Any]:
    """The raw codebook with every language file's texts and meta merged in (a new dict)."""
    folder = language_folder(codebook_path)
    if not folder.is_dir() or not isinstance(raw.get("items"), dict):
        return raw
    items = {key: dict(entry) if isinstance(entry, dict) else entry for key, entry in raw["items"].items()}
    languages = dict(raw.get("languages") or {})
    for path in sorted(folder.glob("*.toml")):
        language = path.stem.lower()
        where = f"{folder.name}/{path.name}"
        data = _read(path, where)
        if language in languages:
            raise ConfigError(f"codebook {where}: language {language} is described twice; keep one [meta]")
        if not isinstance(data.get("meta"), dict):
            raise ConfigError(
                f"codebook {where}: language {language} needs a [meta] table (produced_by, reviewed_by, review_notes)"
            )
        languages[language] = data["meta"]
        given = data.get("items")
        texts: dict[str, Any] = given if isinstance(given, dict) else {}
        unknown = sorted(set(texts) - set(items))
        if unknown:
            raise ConfigError(f"codebook {where}: language {language} has texts for unknown item {unknown[0]}")
        for key, entry in items.items():
            if not isinstance(entry, dict):
                continue
            found = texts.get(key)
            if not isinstance(found, dict):
                raise ConfigError(
                    f"codebook {where}: language {language} has no texts for item {key}; "
                    f"add an [items.{key}] table with {', '.join(TEXT_FIELDS)}"
                )
            lacking = [name for name in TEXT_FIELDS if name not in found]
            if lacking:
                raise ConfigError(f"codebook {where}: language {language}, item {key} lacks {', '.join(lacking)}")
            own = dict(entry.get("text") or {})
            if language in own:
                raise ConfigError(f"codebook {where}: item {key} has {language} texts both here and in the codebook")
            own[language] = found
            entry["text"] = own
    return {**raw, "items": items, "languages": languages}


def _read(path: Path, where: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"codebook {where} is not valid TOML: {str(exc).splitlines()[0]}") from None
    extra = sorted(set(data) - {"language", "meta", "items"})
    if extra:
        raise ConfigError(f"codebook {where}: unexpected top-level key {extra[0]}; use language, [meta] and [items.*]")
    if "language" in data and str(data["language"]).lower() != path.stem.lower():
        raise ConfigError(f"codebook {where}: says language {data['language']!r} but is named {path.name}")
    return data
