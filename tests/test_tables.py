"""Atomic writes: a failure keeps the old file whole and leaves no temporary file behind."""

from __future__ import annotations

import json

import polars as pl
import pytest

from culturalign.errors import DataError
from culturalign.tables import atomic_target, read_table, write_json, write_table, write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = write_text(tmp_path / "report.html", "old")
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        tmp.write_text("half of the new", encoding="utf-8")
        raise RuntimeError("crash in the middle")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_tables_and_json_round_trip(tmp_path):
    df = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for name in ("t.csv", "t.parquet"):
        assert read_table(write_table(df, tmp_path / name)).equals(df)
    data = {"ø": 1, "when": tmp_path}
    assert json.loads((write_json(tmp_path / "m.json", data)).read_text(encoding="utf-8")) == {
        "ø": 1,
        "when": str(tmp_path),
    }
    with pytest.raises(DataError):
        write_table(df, tmp_path / "t.xlsx")
