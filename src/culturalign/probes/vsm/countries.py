"""The countries a VSM run can role-play: shipped data (data/vsm/countries.toml), looked up by key or name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from culturalign import paths
from culturalign.errors import ConfigError


@dataclass(frozen=True)
class Country:
    key: str
    name: str
    language: str
    hofstede_code: str
    hofstede_name: str
    fallback_code: str | None
    names: dict[str, str]  # prompt language -> the country as it fits the role sentence


@cache
def paper_countries() -> tuple[Country, ...]:
    data = tomllib.loads(paths.package_data("vsm", "countries.toml").read_text(encoding="utf-8"))
    return tuple(
        Country(
            key=key,
            name=spec["name"],
            language=spec["language"],
            hofstede_code=spec["hofstede_code"],
            hofstede_name=spec["hofstede_name"],
            fallback_code=spec.get("fallback_code"),
            names=dict(spec["names"]),
        )
        for key, spec in data.items()
    )


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("the ", "").split())


def find_country(label: str) -> Country:
    """A country by key (south_korea), English name (South Korea), Hofstede name or code (KOR)."""
    wanted = _norm(label)
    for country in paper_countries():
        if wanted in {
            _norm(country.key),
            _norm(country.name),
            _norm(country.hofstede_name),
            country.hofstede_code.lower(),
        }:
            return country
    known = ", ".join(c.key for c in paper_countries())
    raise ConfigError(f"unknown country {label!r}; use one of {known}")


def resolve_countries(labels: list[str]) -> list[Country]:
    countries = [find_country(label) for label in labels]
    keys = [c.key for c in countries]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"country listed twice: {', '.join(dupes)}; list each country once")
    return countries
