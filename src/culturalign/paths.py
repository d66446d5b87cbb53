"""Where culturalign keeps downloaded tables, reassembled models and translations."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

from culturalign.errors import UserError


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


# -- output locations, checked before any work -------------------------------------------------
def check_output_dir(path: str | Path, what: str) -> Path:
    """Raise UserError unless `path` is (or can become) a folder this process can write to.

    Checked before a command does any work, so a bad `--output` or `output =` costs nothing.
    Creates nothing: the nearest existing ancestor is probed instead."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is an existing file, not a folder; choose a folder path")
    _check_writable_ancestor(path if path.is_dir() else path.parent, path, what)
    return path


def check_output_file(path: str | Path, what: str) -> Path:
    """Raise UserError unless `path` can be written as a file (an existing file is replaced)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name, e.g. {path / 'export.parquet'}")
    _check_writable_ancestor(path.parent, path, what)
    return path


def _check_writable_ancestor(folder: Path, target: Path, what: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {target}: {existing} is a file, not a folder; choose another path")
    # os.access answers for the real uid and says yes to root everywhere; creating a file is
    # the only honest test (read-only mounts, ACLs, root squash), and it is removed at once.
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".culturalign-write-check-")
    except OSError as exc:
        raise UserError(
            f"{what} {target}: cannot write in {existing} ({exc.strerror or exc}); choose a writable folder"
        ) from None
    os.close(fd)
    os.unlink(probe)
