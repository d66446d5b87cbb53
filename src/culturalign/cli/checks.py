"""Option callbacks that check an output location while the arguments are parsed, before any work.

A UserError raised here reaches `main` like any other: one line, exit code 2."""

from __future__ import annotations

from pathlib import Path

from culturalign.errors import UserError
from culturalign.paths import check_output_dir, check_output_file
from culturalign.tables import TABLE_SUFFIXES


def output_folder(value: Path | None) -> Path | None:
    return None if value is None else check_output_dir(value, "--output")


def output_file(value: Path | None) -> Path | None:
    return None if value is None else check_output_file(value, "--output")


def output_table(value: Path | None) -> Path | None:
    """A table file to write: .csv or .parquet, in a place that can be written."""
    if value is None:
        return None
    if value.is_dir():
        return check_output_file(value, "--output")  # says it is a folder
    if value.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"--output {value}: use a .csv or .parquet file name")
    return check_output_file(value, "--output")
