"""The ground-truth tables released with the paper: pinned addresses, fetched into the cache."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from culturalign import paths
from culturalign.errors import ConfigError
from culturalign.sources.download import fetch_pinned, sha256_of

BASE_URL_ENV = "CULTURALIGN_GT_BASE_URL"


class PinnedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    path: str
    sha256: str


class PinnedSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    repository: str
    base_url: str
    commit: str
    cache_subdir: str


class PublishedTables(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: PinnedSource
    files: list[PinnedFile]


def load_pins(path: Path | None = None) -> PublishedTables:
    path = path or paths.package_data("published_tables.toml")
    try:
        return PublishedTables.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"the pinned-download list {path.name} is not valid: {first}") from None


def file_url(pins: PublishedTables, pinned: PinnedFile, base_url: str | None = None) -> str:
    """Upstream: {base}/{commit}/{repository path}. An override base serves the files by name,
    which is what a mirror folder or a test server holding the released files looks like."""
    override = base_url or os.environ.get(BASE_URL_ENV)
    if override and not override.startswith(("http://", "https://", "file://")):
        raise ConfigError(f"base URL {override!r} is not a URL; give one that starts with http://, https:// or file://")
    if override:
        return f"{override.rstrip('/')}/{pinned.name}"
    return f"{pins.source.base_url.rstrip('/')}/{pins.source.commit}/{pinned.path}"


def published_dir(pins: PublishedTables | None = None) -> Path:
    pins = pins or load_pins()
    return paths.cache_subdir(pins.source.cache_subdir)


def is_cached(pins: PublishedTables | None = None) -> bool:
    pins = pins or load_pins()
    folder = published_dir(pins)
    return all((folder / f.name).is_file() and sha256_of(folder / f.name) == f.sha256 for f in pins.files)


def fetch_published(*, force: bool = False, base_url: str | None = None, timeout: float = 60) -> Path:
    """Download every pinned table (reusing verified cached copies); returns the folder holding them."""
    pins = load_pins()
    for pinned in pins.files:
        fetch_pinned(
            file_url(pins, pinned, base_url),
            pinned.sha256,
            pinned.name,
            pins.source.cache_subdir,
            timeout=timeout,
            force=force,
        )
    return published_dir(pins)
