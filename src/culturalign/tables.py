"""Reading and writing tidy tables: CSV or Parquet chosen by extension, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from culturalign.errors import DataError

TABLE_SUFFIXES = (".csv", ".parquet")


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; it replaces `path` only when the block succeeds.

    A crash or an error leaves the old file (or none), never half of a new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temp file keeps the target's suffix: writers that infer the format from it still work.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    path = Path(path)
    with atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: str | Path, data: Any, *, indent: int = 2, sort_keys: bool = False) -> Path:
    """Write JSON atomically (UTF-8, non-ASCII kept; values JSON does not know are written as text)."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=str)
    return write_text(path, text + "\n")


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by extension; a crash never leaves a half-written file behind."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"cannot write {path.name}: use a .csv or .parquet file name")
    with atomic_target(path) as tmp:
        if suffix == ".csv":
            df.write_csv(tmp)
        else:
            df.write_parquet(tmp)
    return path


def write_table_pair(df: pl.DataFrame, directory: str | Path, stem: str) -> Path:
    """Write `stem`.csv and `stem`.parquet side by side; returns the CSV path."""
    directory = Path(directory)
    write_table(df, directory / f"{stem}.parquet")
    return write_table(df, directory / f"{stem}.csv")


def read_table(path: str | Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Read CSV or Parquet by extension, with a one-line error for a missing or odd file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path, columns=columns)
        if suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            df = pl.read_csv(path, separator=sep, infer_schema_length=10000)
            return df.select(columns) if columns else df
    except pl.exceptions.ColumnNotFoundError as exc:
        raise DataError(f"{path.name} misses a needed column ({exc}); check its header") from None
    except pl.exceptions.NoDataError:
        raise DataError(f"{path} is empty; give a table with a header row and data") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read {path.name} as a table: {first}") from None
    raise DataError(f"cannot read {path.name}: expected a .csv or .parquet file")


def require_columns(df: pl.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{what} misses the column(s) {', '.join(missing)}; it has {', '.join(df.columns)}")
