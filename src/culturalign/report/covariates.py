"""A covariates table a user supplies for figures of alignment against model or country traits.

Columns: `kind` (model or country), `name` (as the run names it) and one or more numeric
covariate columns. Read here, below the probes, so the report can check it before writing.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.tables import read_table

COVARIATE_KEYS = ("kind", "name")


def load_covariates(path: str | Path) -> pl.DataFrame:
    """The table, or one line naming the problem when it cannot be read or lacks a needed column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"covariates file not found: {path}; give a CSV or Parquet table (kind, name, covariates...)")
    try:
        table = read_table(path)
    except (DataError, pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read the covariates file {path.name} ({type(exc).__name__}); give a CSV or Parquet table"
        ) from None
    missing = [c for c in COVARIATE_KEYS if c not in table.columns]
    if missing:
        raise DataError(
            f"{path.name} misses the column(s) {', '.join(missing)}; a covariates table needs kind (model or "
            "country), name and one or more numeric covariate columns"
        )
    numeric = [c for c in table.columns if c not in COVARIATE_KEYS and table[c].dtype.is_numeric()]
    if not numeric:
        raise DataError(f"{path.name} has no numeric covariate column beside kind and name (e.g. params_billion, gdp)")
    bad = set(table["kind"].drop_nulls().cast(pl.Utf8).str.to_lowercase().unique().to_list()) - {"model", "country"}
    if bad:
        raise DataError(f"{path.name}: kind must be model or country, found {', '.join(sorted(bad))}")
    return table.select(pl.col("kind").cast(pl.Utf8).str.to_lowercase(), pl.col("name").cast(pl.Utf8), *numeric)
