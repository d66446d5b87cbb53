"""Reading and writing tidy tables: CSV or Parquet chosen by extension, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from culturalign.errors import DataError

TABLE_SUFFIXES = (".csv", ".parquet")


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by extension; a crash never leaves a half-written file behind."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"cannot write {path.name}: use a .csv or .parquet file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if suffix == ".csv":
            df.write_csv(tmp)
        else:
            df.write_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
    except (pl.exceptions.ComputeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read {path.name} as a table: {first}") from None
    raise DataError(f"cannot read {path.name}: expected a .csv or .parquet file")


def require_columns(df: pl.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{what} misses the column(s) {', '.join(missing)}; it has {', '.join(df.columns)}")
