"""Opening a file as a run store: is it ours, is it whole, is it current, and only then write.

A store is marked with SQLite's `application_id` (APPLICATION_ID) and `user_version` (the
number of migrations applied). A new store is built beside its final name and linked into
place, so no process ever sees half a store, and an existing file is never turned into one.
An existing file is read before anything is written to it:
1. ours? marked with APPLICATION_ID, or unmarked but with our tables (a store from before the
   marks, adopted and marked); anything else (an empty file, another program's database) is
   refused and left byte for byte as it was;
2. current? a store with a migration this version does not know says which version wrote it;
3. whole? `PRAGMA quick_check` (cost: see bench/bench_store_open.py); a damaged store is
   refused with the command that recovers what it holds.
Any sqlite3 error later on becomes one line through `store_error`.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from culturalign import __version__
from culturalign.errors import DataError
from culturalign.store.migrations import MIGRATIONS

APPLICATION_ID = 0x43414C47  # "CALG"
SCHEMA_VERSION = len(MIGRATIONS)
_SQLITE_MAGIC = b"SQLite format 3\x00"
_OUR_TABLES = frozenset({"schema_migrations", "runs", "calls"})


class StoreDamaged(DataError):
    """The store's file is corrupt: nothing more is written to it."""


def open_store(path: Path) -> sqlite3.Connection:
    """A connection to the run store at `path`, created if no file is there; DataError otherwise."""
    if not path.exists() and not path.is_symlink():
        _create(path)
    return _open_existing(path)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _create(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the run store's folder {path.parent} ({exc.strerror}); choose another store path"
        ) from None
    partial = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.new")
    try:
        conn = _connect(partial)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            _migrate(conn)
        finally:
            conn.close()
        try:
            os.link(partial, path)  # never replaces: a store another process made meanwhile wins
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(partial, path)
    except sqlite3.Error as exc:
        raise DataError(f"cannot create run store {path} ({exc}); choose another store path") from None
    except OSError as exc:
        raise DataError(f"cannot create run store {path} ({exc.strerror}); choose another store path") from None
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)


def _open_existing(path: Path) -> sqlite3.Connection:
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a run store; give the store file of a run")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise DataError(f"cannot read run store {path} ({exc.strerror})") from None
    if not head:
        raise DataError(
            f"{path} is an empty file, not a culturalign run store; give the store of a run, "
            "or delete the file to start a new store there"
        )
    if head != _SQLITE_MAGIC:
        raise DataError(f"{path} is not a culturalign run store (not an SQLite database); give the store of a run")
    conn = _connect(path)
    try:
        # Only reads until the file is known to be ours, current and whole.
        _check_ours(conn, path)
        _check_version(conn, path)
        _check_whole(conn, path)
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store_error(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    if app_id == 0 and set(tables) >= _OUR_TABLES:
        return  # a store written before stores were marked: adopted, and marked by _migrate
    held = f"tables {', '.join(tables[:5])}{', ...' if len(tables) > 5 else ''}" if tables else "no tables"
    raise DataError(
        f"{path} is an SQLite database but not a culturalign run store (application_id {app_id}, {held}); "
        "it was left unchanged: give the store of a run, or a new path"
    )


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    stamped = conn.execute("PRAGMA user_version").fetchone()[0]
    applied = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
    newest = max(stamped, applied)
    if newest <= SCHEMA_VERSION:
        return
    writer = _writer_version(conn, newest)
    needs = f"culturalign {writer} or newer" if writer else "a newer culturalign"
    raise DataError(
        f"{path} was written by a newer culturalign (store schema {newest}; this is culturalign {__version__}, "
        f"schema {SCHEMA_VERSION}); it needs {needs}: upgrade, e.g. pip install -U culturalign"
    )


def _writer_version(conn: sqlite3.Connection, version: int) -> str | None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(schema_migrations)")}
    if "package_version" not in columns:
        return None
    row = conn.execute("SELECT package_version FROM schema_migrations WHERE version = ?", (version,)).fetchone()
    return row[0] if row and row[0] else None


def _check_whole(conn: sqlite3.Connection, path: Path) -> None:
    # It reads every page (about 0.6 s per 100,000 calls, bench/bench_store_open.py), so a process
    # checks a file once while it is unchanged: a run opens its store several times (run, summary,
    # report). Answers go to the WAL file; the store file itself changes at checkpoints.
    stat = path.stat()
    identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if identity in _whole_files:
        return
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        raise StoreDamaged(damaged_message(path, str(rows[0][0]) if rows else "quick_check gave no answer"))
    _whole_files.add(identity)


_whole_files: set[tuple[int, int, int, int]] = set()


def forget_checks() -> None:
    """Check every store again at its next open (benchmarks, tests that damage a store)."""
    _whole_files.clear()


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this store lacks and mark it, in one transaction; writes nothing when current."""
    if _is_current(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}  # again, inside the lock
        for version, script in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, _now()))
            if version >= 3:  # the column exists from migration 3 on
                conn.execute(
                    "UPDATE schema_migrations SET package_version = ? WHERE version = ?", (__version__, version)
                )
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _is_current(conn: sqlite3.Connection) -> bool:
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        return False
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        return False
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return False
    return conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION


# -- errors ------------------------------------------------------------------------------------
def is_store_failure(exc: BaseException) -> bool:
    """An sqlite3 error that is about the store's file (damage, lock, disk), not a bug in a query."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    )


def store_error(path: Path, exc: sqlite3.DatabaseError) -> DataError:
    """One line for an sqlite3 error on the store at `path`."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DataError(f"run store {path} stayed locked by another process ({exc}); try again when it is done")
    if name.startswith("SQLITE_FULL"):
        return DataError(f"run store {path}: the disk is full ({exc}); free space and run again (answers are kept)")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return DataError(f"cannot use run store {path} ({exc}); check the permissions of the file and its folder")
    return StoreDamaged(damaged_message(path, str(exc)))


def store_failure_line(exc: sqlite3.DatabaseError) -> str:
    """One line for an sqlite3 error met where the store's path is not known (the CLI's last resort)."""
    return (
        f"a run store failed ({exc}); if `culturalign runs STORE` says it is damaged, recover what it holds: "
        'sqlite3 STORE ".recover" | sqlite3 NEW.sqlite'
    )


def damaged_message(path: Path, detail: str) -> str:
    recovered = path.with_name(f"{path.stem}-recovered{path.suffix or '.sqlite'}")
    return (
        f"run store {path} is damaged ({detail}); culturalign writes nothing more to it. "
        f'Recover what it holds into a new file: sqlite3 {shlex.quote(str(path))} ".recover" '
        f"| sqlite3 {shlex.quote(str(recovered))} -- then use {recovered.name} as the store"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
