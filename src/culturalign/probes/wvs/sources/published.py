"""The ground-truth tables released with the paper: pinned addresses, fetched into the cache."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from culturalign import paths
from culturalign.errors import ConfigError
from culturalign.sources.download import fetch_pinned, sha256_of

BASE_URL_ENV = "CULTURALIGN_GT_BASE_URL"


class PinnedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # ground_truth: what a run needs; release: what `reproduce` reads besides it
    group: Literal["ground_truth", "release"] = "ground_truth"


class PinnedSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    repository: str
    base_url: str
    # the full commit id: an abbreviation can become ambiguous as the repository grows
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
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


def pinned_files(pins: PublishedTables, *, release: bool = False) -> list[PinnedFile]:
    """The ground-truth tables, and with `release` also the released responses and benchmarks."""
    return [f for f in pins.files if release or f.group == "ground_truth"]


def is_cached(pins: PublishedTables | None = None, *, release: bool = False) -> bool:
    pins = pins or load_pins()
    folder = published_dir(pins)
    return all(
        (folder / f.name).is_file() and sha256_of(folder / f.name) == f.sha256
        for f in pinned_files(pins, release=release)
    )


def fetch_published(
    *, force: bool = False, base_url: str | None = None, timeout: float = 60, release: bool = False
) -> Path:
    """Download every pinned table (reusing verified cached copies); returns the folder holding them.

    `release` adds the released responses and benchmark scores that `culturalign reproduce` reads."""
    pins = load_pins()
    for pinned in pinned_files(pins, release=release):
        fetch_pinned(
            file_url(pins, pinned, base_url),
            pinned.sha256,
            pinned.name,
            pins.source.cache_subdir,
            timeout=timeout,
            force=force,
        )
    return published_dir(pins)
