"""A run store refuses files that are not its own, stores from a newer culturalign and damaged
stores, each with one line (exit 2), and writes nothing into any of them."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cli_helpers import run_cli
from culturalign.errors import DataError
from culturalign.store import RunStore
from culturalign.store.migrations import MIGRATIONS

EXPERIMENT = """
probe = "wvs"
name = "damage"
seed = 2
languages = ["da", "en"]
store = "runs/store.sqlite"
output = "runs/out"

[[models]]
name = "mock-chat"
backend = "mock"

[[judges]]
name = "mock-judge"
backend = "mock"

[wvs]
prompts_per_language = 30
"""


@pytest.fixture(autouse=True)
def _published_tables_from_loopback(static_server, paper_data, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(paper_data))


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err


def _invoices(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
    conn.executemany("INSERT INTO invoices (customer, amount) VALUES (?, ?)", [("Ada", 12.5), ("Bo", 7.0)])
    conn.commit()
    conn.close()
    return path


# -- identity --------------------------------------------------------------------------------
def test_a_new_store_is_marked_as_ours(tmp_path):
    from culturalign.store.schema import APPLICATION_ID, SCHEMA_VERSION

    RunStore(tmp_path / "s.sqlite").close()
    assert [p.name for p in tmp_path.iterdir()] == ["s.sqlite"]  # nothing left of how it was built
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)


def test_a_foreign_sqlite_file_is_refused_and_left_byte_for_byte_unchanged(tmp_path, capsys):
    foreign = _invoices(tmp_path / "accounts.sqlite")
    before = _fingerprint(tmp_path)
    with pytest.raises(DataError, match="not a culturalign run store"):
        RunStore(foreign)
    _assert_one_line_error(*run_cli(["runs", str(foreign)], capsys)[::2], "invoices")
    _assert_one_line_error(*run_cli(["runs", "export", str(foreign), "-o", str(tmp_path / "x.csv")], capsys)[::2])
    _assert_one_line_error(*run_cli(["report", str(foreign), "-o", str(tmp_path / "report")], capsys)[::2])
    experiment = tmp_path / "e.toml"
    experiment.write_text(EXPERIMENT.replace("runs/store.sqlite", "accounts.sqlite"), encoding="utf-8")
    before[experiment.name] = hashlib.sha256(experiment.read_bytes()).hexdigest()
    _assert_one_line_error(*run_cli(["run", str(experiment), "--no-progress"], capsys)[::2], "not a culturalign")
    assert _fingerprint(tmp_path) == before


def test_an_empty_file_is_not_turned_into_a_store(tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    _assert_one_line_error(*run_cli(["report", str(empty), "-o", str(tmp_path / "report")], capsys)[::2], "empty")
    _assert_one_line_error(*run_cli(["runs", str(empty)], capsys)[::2], "empty")
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]


def test_a_store_from_a_newer_culturalign_says_which_version_it_needs(tmp_path, capsys):
    from culturalign.store.schema import SCHEMA_VERSION

    path = tmp_path / "s.sqlite"
    with RunStore(path) as store:
        store.finish_run(store.start_run("n", "wvs", {}))
    conn = sqlite3.connect(path)
    newer = SCHEMA_VERSION + 1
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'later', '9.1.0')", (newer,))
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.commit()
    conn.close()
    before = _fingerprint(tmp_path)
    code, _, err = run_cli(["runs", str(path)], capsys)
    _assert_one_line_error(code, err, "culturalign 9.1.0", f"schema {newer}")
    assert _fingerprint(tmp_path) == before


def test_a_store_from_before_the_marks_is_adopted_and_marked(tmp_path):
    from culturalign.store.schema import APPLICATION_ID, SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for version, script in enumerate(MIGRATIONS[:2], start=1):
        conn.executescript(script)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (version,))
    conn.execute(
        "INSERT INTO runs (run_id, name, probe, config_json, package_version, started_at)"
        " VALUES ('r1', 'old', 'wvs', '{}', '0.1', '2026-01-01T00:00:00')"
    )
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        assert [r.run_id for r in store.runs()] == ["r1"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# -- damage ----------------------------------------------------------------------------------
def _damaged_store(tmp_path: Path, capsys) -> tuple[Path, Path]:
    """A store written by a real run, with the page in the middle of its file overwritten."""
    experiment = tmp_path / "e.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    code, _, err = run_cli(["run", str(experiment), "--no-progress"], capsys)
    assert code == 0, err
    store = tmp_path / "runs" / "store.sqlite"
    data = bytearray(store.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    middle = (len(data) // page_size // 2) * page_size
    data[middle : middle + page_size] = bytes((i * 7919 + 13) % 251 for i in range(page_size))
    store.write_bytes(bytes(data))
    conn = sqlite3.connect(store)  # the damage is real: SQLite itself sees it
    try:
        assert conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]
    except sqlite3.DatabaseError:
        pass
    finally:
        conn.close()
    return experiment, store


def test_a_damaged_store_is_one_line_with_the_recovery_and_is_never_written(tmp_path, capsys):
    experiment, store = _damaged_store(tmp_path, capsys)
    before = _fingerprint(tmp_path)
    for args in (
        ["runs", str(store)],
        ["runs", "export", str(store), "-o", str(tmp_path / "calls.parquet")],
        ["report", str(store), "-o", str(tmp_path / "report")],
        ["run", str(experiment), "--no-progress"],
    ):
        code, _, err = run_cli(args, capsys)
        _assert_one_line_error(code, err, "damaged", ".recover")
    assert _fingerprint(tmp_path) == before


def _shell_can_recover() -> bool:
    """The sqlite3 shell's .recover needs the sqlite_dbpage table, which some builds leave out."""
    if shutil.which("sqlite3") is None:
        return False
    probe = subprocess.run(["sqlite3", ":memory:", "SELECT 1 FROM sqlite_dbpage LIMIT 1"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _shell_can_recover(), reason="needs an sqlite3 shell with .recover (sqlite_dbpage)")
def test_the_recovery_the_message_names_gives_a_usable_store(tmp_path, capsys):
    _, store = _damaged_store(tmp_path, capsys)
    recovered = tmp_path / "recovered.sqlite"
    dump = subprocess.run(["sqlite3", str(store), ".recover"], capture_output=True, check=True)
    subprocess.run(["sqlite3", str(recovered)], input=dump.stdout, capture_output=True, check=True)
    code, out, err = run_cli(["runs", str(recovered)], capsys)
    assert code == 0 and "damage" in out, err
