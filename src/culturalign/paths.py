"""Where culturalign keeps downloaded tables, reassembled models and translations."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The user cache directory; CULTURALIGN_CACHE_DIR overrides it (tests, shared machines)."""
    override = os.environ.get("CULTURALIGN_CACHE_DIR")
    root = Path(override) if override else Path(platformdirs.user_cache_dir("culturalign"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_subdir(name: str) -> Path:
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_data(*parts: str) -> Path:
    """A file shipped inside the package (codebooks, templates, instrument structure)."""
    return Path(__file__).parent.joinpath("data", *parts)


def model_cache_dir() -> Path:
    """Where reassembled model weights live; CULTURALIGN_MODEL_CACHE overrides (shared between tests)."""
    override = os.environ.get("CULTURALIGN_MODEL_CACHE")
    path = Path(override) if override else cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
