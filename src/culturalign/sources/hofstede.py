"""Hofstede's published six-dimension country scores (the VSM ground truth).

Two layouts are read as they are:
- the published file (`6-dimensions-for-website-2015-08-16.csv`): semicolon-separated, CRLF,
  header `ctr;country;pdi;idv;mas;uai;ltowvs;ivr`, `#NULL!` for a missing score, Hofstede's own
  three-letter codes (not ISO), scores above 100 kept as published;
- a plain CSV with columns `country, pdi, idv, mas, uai, lto, ivr` (optionally `code`; `ltowvs`
  is accepted for `lto`), empty cells for missing scores.
Both become one table: code, country, pdi, idv, mas, uai, lto, ivr (floats, null when missing).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from culturalign import paths
from culturalign.errors import DataError
from culturalign.sources import download

SCORES_URL = "https://geerthofstede.com/wp-content/uploads/2016/08/6-dimensions-for-website-2015-08-16.csv"
SCORES_SHA256 = "71bff58cf610ec44b870d5aa4b06bb36e3a573860d513ff802488764d6e029a6"
SCORES_FILENAME = "6-dimensions-for-website-2015-08-16.csv"
CACHE_SUBDIR = "hofstede"
# The publisher's server is known to turn away clients that do not look like a browser.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Accept": "text/csv,text/plain,*/*",
}

DIMENSIONS = ("pdi", "idv", "mas", "uai", "lto", "ivr")
_ALIASES = {"ltowvs": "lto", "ctr": "code", "name": "country"}
_MISSING = {"", "#null!", "na", "nan", "null"}

NOTICE = (
    "Country scores: Geert Hofstede's published six-dimension data (geerthofstede.com, dimension data matrix); "
    "cite Hofstede, Hofstede & Minkov (2010), Cultures and Organizations, 3rd ed."
)


def fetch_scores(url: str | None = None, *, force: bool = False) -> Path:
    """Download the published table into the user cache, checked against its pinned sha256."""
    return download.fetch_pinned(
        url or SCORES_URL, SCORES_SHA256, SCORES_FILENAME, CACHE_SUBDIR, headers=BROWSER_HEADERS, force=force
    )


def fetched_scores_path() -> Path:
    return paths.cache_subdir(CACHE_SUBDIR) / SCORES_FILENAME


def _number(cell: str, where: str) -> float | None:
    cell = cell.strip()
    if cell.lower() in _MISSING:
        return None
    try:
        return float(cell.replace(",", "."))
    except ValueError:
        raise DataError(
            f"{where}: {cell!r} is not a score; use a number, or leave the cell empty (or #NULL!) when missing"
        ) from None


def read_scores(path: str | Path) -> pl.DataFrame:
    """Read a country-score table in either layout; a missing dimension column is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"scores file not found: {path}; run `culturalign vsm fetch-scores` or pass --scores FILE")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"scores file {path.name} is empty")
    header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in rows[0]]
    missing = [c for c in ("country", *DIMENSIONS) if c not in header]
    if missing:
        raise DataError(
            f"scores file {path.name} misses the column(s) {', '.join(missing)}; "
            "expected country,pdi,idv,mas,uai,lto,ivr (or Hofstede's published layout)"
        )
    at = {h: i for i, h in enumerate(header)}
    records = []
    for line_no, row in enumerate(rows[1:], start=2):
        row = row + [""] * (len(header) - len(row))
        where = f"scores file {path.name} line {line_no}"
        record: dict[str, object] = {
            "code": row[at["code"]].strip() if "code" in at else "",
            "country": row[at["country"]].strip(),
        }
        record.update({d: _number(row[at[d]], where) for d in DIMENSIONS})
        records.append(record)
    schema = {"code": pl.Utf8, "country": pl.Utf8, **{d: pl.Float64 for d in DIMENSIONS}}
    return pl.DataFrame(records, schema=schema, orient="row")


@dataclass(frozen=True)
class TableRow:
    """How one country is found in the table: its code and name there, and a regional row for gaps."""

    key: str
    code: str
    name: str
    fallback_code: str | None = None


def _find_row(table: pl.DataFrame, code: str | None, names: list[str]) -> dict | None:
    if code:
        hit = table.filter(pl.col("code").str.to_uppercase() == code.upper())
        if hit.height:
            return hit.row(0, named=True)
    lowered = {n.lower() for n in names if n}
    hit = table.filter(pl.col("country").str.to_lowercase().is_in(list(lowered)))
    return hit.row(0, named=True) if hit.height else None


def ground_truth(
    table: pl.DataFrame,
    countries: list[TableRow],
    *,
    fallback: bool = True,
    missing: Literal["error", "skip"] = "error",
    warn=None,
) -> pl.DataFrame:
    """Long table (country, dimension, value, source) for the countries, found by code or name.

    A dimension the country's own row leaves empty is taken from its regional row when
    `fallback` is on (source says which row). A country with no row, or still missing a
    dimension, is an error naming it, or skipped with a warning when `missing="skip"`.
    """
    out = []
    for c in countries:
        row = _find_row(table, c.code, [c.name, c.key.replace("_", " ")])
        problem = None
        values: dict[str, tuple[float | None, str]] = {}
        if row is None:
            problem = f"country {c.key} ({c.code} / {c.name}) is not in the scores table"
        else:
            region = _find_row(table, c.fallback_code, []) if fallback and c.fallback_code else None
            for d in DIMENSIONS:
                if row[d] is not None:
                    values[d] = (row[d], row["code"] or row["country"])
                elif region is not None and region[d] is not None:
                    values[d] = (region[d], region["code"] or region["country"])
            lacking = [d for d in DIMENSIONS if d not in values]
            if lacking:
                problem = f"country {c.key} has no {', '.join(lacking)} score in the scores table"
        if problem:
            if missing == "skip":
                if warn:
                    warn(f"{problem}; skipped")
                continue
            raise DataError(f'{problem}; use a table that has it, or set missing_ground_truth = "skip"')
        out += [{"country": c.key, "dimension": d, "value": values[d][0], "source": values[d][1]} for d in DIMENSIONS]
    return pl.DataFrame(
        out, schema={"country": pl.Utf8, "dimension": pl.Utf8, "value": pl.Float64, "source": pl.Utf8}, orient="row"
    )


def load_scores(scores: str | None) -> pl.DataFrame:
    """`published` (the fetched copy in the user cache) or a path to a user table."""
    if scores in (None, "", "published"):
        path = fetched_scores_path()
        if not path.is_file():
            raise DataError(
                'Hofstede\'s country scores are not available: run `culturalign vsm fetch-scores` once, or set scores = "FILE.csv"'
            )
        return read_scores(path)
    return read_scores(scores)
