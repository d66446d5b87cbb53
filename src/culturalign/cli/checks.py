"""Option callbacks that check an output location while the arguments are parsed, before any work.

A UserError raised here reaches `main` like any other: one line, exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer

from culturalign.errors import UserError
from culturalign.paths import check_output_dir, check_output_file
from culturalign.tables import TABLE_SUFFIXES


def _name(param: typer.CallbackParam) -> str:
    return max(param.opts, key=len) if param.opts else str(param.name)


def output_folder(param: typer.CallbackParam, value: Path | None) -> Path | None:
    return None if value is None else check_output_dir(value, _name(param))


def output_file(param: typer.CallbackParam, value: Path | None) -> Path | None:
    return None if value is None else check_output_file(value, _name(param))


def output_table(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """A table file to write: .csv or .parquet, in a place that can be written."""
    if value is None:
        return None
    if not value.is_dir() and value.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"{_name(param)} {value}: use a .csv or .parquet file name")
    return check_output_file(value, _name(param))
