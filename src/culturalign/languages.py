"""Language codes: ISO 639-1, as lingua knows them, with English names for reports."""

from __future__ import annotations

from functools import cache

from culturalign.errors import ConfigError


@cache
def known_languages() -> dict[str, str]:
    """ISO 639-1 code -> English name, for every language the language detector supports."""
    from lingua import Language

    return {lang.iso_code_639_1.name.lower(): lang.name.title() for lang in Language.all()}


def check_language(code: str) -> str:
    norm = code.strip().lower()
    if norm not in known_languages():
        raise ConfigError(
            f"unknown language {code!r}: use an ISO 639-1 code the language detector supports, e.g. da, en, nl, pt"
        )
    return norm


def language_name(code: str) -> str:
    return known_languages().get(code.lower(), code)
