"""One file for human review of every probe's translations: export it, edit `text`, import it.

The file has one row per text: probe, language, key, source, text, origin. Importing stores
as reviewed each row whose text a person changed, and each row whose origin they set to
`reviewed` (to keep a machine translation as it is); rows left alone change nothing, so an
exported file imported again and exported again comes back byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.tables import read_table, require_columns, write_table
from culturalign.translation.texts import Resolved, lost_placeholders, write_reviewed

EXPORT_COLUMNS = ["probe", "language", "key", "source", "text", "origin"]


def review_frame(resolved: Sequence[Resolved]) -> pl.DataFrame:
    rows = [(r.text.probe, r.text.language, r.text.key, r.text.source, r.translation, r.origin) for r in resolved]
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in EXPORT_COLUMNS}, orient="row")


def export_review_file(resolved: Sequence[Resolved], path: str | Path) -> Path:
    """Write the review file (CSV or Parquet by extension), atomically."""
    return write_table(review_frame(resolved), path)


def import_review_file(path: str | Path, current: Sequence[Resolved]) -> dict[str, int]:
    """Store the reviewed rows of a file; returns how many were stored per language.

    `current` is what the texts resolve to now (the same list an export writes): a row must
    name one of its texts, keep its placeholders, and differ from it or be marked reviewed."""
    name = Path(path).name
    frame = read_table(path)
    require_columns(frame, ["language", "key", "text"], name)
    known = {(r.text.language, r.text.key): r for r in current}
    probes = {r.text.probe for r in current}
    stored: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for row in frame.iter_rows(named=True):
        text = str(row["text"]).strip() if row["text"] is not None else ""
        if not text:
            continue
        target = known.get((str(row["language"]), str(row["key"])))
        probe = row.get("probe")
        if target is None or (probe is not None and probe not in probes):
            raise DataError(f"{name}: unknown text {row['key']!r} in language {row['language']!r}; export a fresh file")
        lost = lost_placeholders(target.text, text)
        if lost:
            raise DataError(f"{name}: the {target.text.language} text of {target.text.key} lacks {' and '.join(lost)}")
        if text == target.translation and row.get("origin") != "reviewed":
            continue  # left as exported
        entry = {"source": target.text.source, "text": text}
        stored.setdefault((target.text.probe, target.text.language), {})[target.text.key] = entry
    for (probe, language), entries in stored.items():
        write_reviewed(probe, language, entries)
    counts: dict[str, int] = {}
    for (_, language), entries in stored.items():
        counts[language] = counts.get(language, 0) + len(entries)
    return counts
