"""Messages for one VSM item: a system role ("an average person from {country}" plus the
one-numbered-choice instruction) in the prompt language, and the item with its five options."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from culturalign import paths
from culturalign.errors import ConfigError
from culturalign.models.base import ChatMessage
from culturalign.probes.vsm.countries import Country
from culturalign.probes.vsm.instrument import ItemText


@dataclass(frozen=True)
class Frame:
    role: str
    instruction: str
    answer_cue: str


@cache
def frames() -> dict[str, Frame]:
    data = tomllib.loads(paths.package_data("vsm", "frames.toml").read_text(encoding="utf-8"))
    return {lang: Frame(spec["role"], spec["instruction"], spec["answer_cue"]) for lang, spec in data.items()}


def frame_for(language: str) -> Frame:
    try:
        return frames()[language]
    except KeyError:
        raise ConfigError(
            f"no VSM prompt frame for language {language!r}; supported: {', '.join(sorted(frames()))} "
            "(add one to data/vsm/frames.toml)"
        ) from None


def country_in(country: Country, language: str) -> str:
    try:
        return country.names[language]
    except KeyError:
        raise ConfigError(
            f"no name for {country.name} in language {language!r}; add it to data/vsm/countries.toml"
        ) from None


def system_prompt(country: Country, language: str) -> str:
    frame = frame_for(language)
    return f"{frame.role.format(country=country_in(country, language))} {frame.instruction}"


def item_prompt(item: ItemText) -> str:
    lines = [item.text]
    lines += [f"{k}. {label}" for k, label in enumerate(item.options, start=1)]
    return "\n".join(lines)


def messages_for(
    country: Country, language: str, item: ItemText, *, completion: bool = False
) -> tuple[ChatMessage, ...]:
    """System role and item; `completion` (base models) ends the text with an answer cue to continue from."""
    user = item_prompt(item)
    if completion:
        user = f"{user}\n{frame_for(language).answer_cue}"
    return (
        ChatMessage(role="system", content=system_prompt(country, language)),
        ChatMessage(role="user", content=user),
    )
