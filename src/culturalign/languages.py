"""Language codes: ISO 639-1, as lingua knows them, with English names for reports."""

from __future__ import annotations

from functools import cache
from typing import Any

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


@cache
def _three_letter_codes() -> dict[str, str]:
    from lingua import Language

    return {lang.iso_code_639_3.name.lower(): lang.iso_code_639_1.name.lower() for lang in Language.all()}


def iso_639_1(value: str | None) -> str | None:
    """An interview-language code as the prompts name languages: "EN", "en-GB", "en_US" and the
    ISO 639-3 "eng" all become "en"; anything unrecognised is returned lower-cased as it is."""
    if value is None:
        return None
    code = str(value).strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3:
        return _three_letter_codes().get(code, code)
    return code


def normalise_language_column(frame: Any, column: str) -> Any:
    """The frame (polars) with its interview-language column in the prompts' two-letter codes."""
    import polars as pl

    values = frame[column].cast(pl.String)
    mapping = {v: iso_639_1(v) for v in values.unique().drop_nulls().to_list()}
    return frame.with_columns(values.replace(mapping).alias(column))
