"""Opening the ledger's SQLite file: the schema, the migrations of state written by older
releases (added columns, the ctime column and its sightings table, each its own step), a read-only
view for dry runs (which never upgrade a state) and the integrity check behind the repair."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    settings_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    outputs TEXT NOT NULL DEFAULT '[]',
    audio_seconds REAL NOT NULL DEFAULT 0,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error_class TEXT NOT NULL DEFAULT '',
    failing_since TEXT NOT NULL DEFAULT '',
    json_stamp TEXT NOT NULL DEFAULT ''
)
"""
# Columns added after the first release: an older state database gets them when opened for a run,
# and a dry run (read-only) reads them as empty.
_ADDED_COLUMNS = ("error_class", "failing_since", "json_stamp")
# The inode change time, its own migration step: 0 (unknown) in a row written by an older release.
_CTIME_COLUMN = "ALTER TABLE files ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0"
_SIGHTINGS = """
CREATE TABLE IF NOT EXISTS sightings (
    source TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    first_seen_ns INTEGER NOT NULL
)
"""


# SQLite keeps up to 2 MB of pages per connection by default, filled as the state grows (the
# integrity check on open reads it all): memory that grew with the number of recordings up to
# that bound. Rows are read by key and the OS caches the file, so a small cache costs nothing.
CACHE_KIB = 256


def bounded_cache(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")


def open_for_writing(path: Path) -> sqlite3.Connection:
    """Open for writing, creating or upgrading the table; a damaged file raises DatabaseError."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        bounded_cache(db)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        check_integrity(db)
        db.execute(_SCHEMA)
        columns = {r[1] for r in db.execute("PRAGMA table_info(files)")}
        for name in _ADDED_COLUMNS:  # state written by an older batchscribe
            if name not in columns:
                db.execute(f"ALTER TABLE files ADD COLUMN {name} TEXT NOT NULL DEFAULT ''")
        _add_ctime(db, columns)
    except BaseException:
        db.close()
        raise
    return db


def _add_ctime(db: sqlite3.Connection, columns: set[str]) -> None:
    """The ctime migration: the column (0, unknown, in older rows) and the table of sightings."""
    if "ctime_ns" not in columns:
        db.execute(_CTIME_COLUMN)
    db.execute(_SIGHTINGS)


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open without writing anything, even on a read-only disk (where WAL files cannot be made)."""
    for mode in ("mode=ro", "mode=ro&immutable=1"):
        db = sqlite3.connect(f"file:{path}?{mode}", uri=True, check_same_thread=False)
        try:
            bounded_cache(db)
            check_integrity(db)
            columns = {r[1] for r in db.execute("PRAGMA table_info(files)")}
            if missing := [name for name in (*_ADDED_COLUMNS, "ctime_ns") if name not in columns]:
                db.close()
                return _legacy_view(path, mode, missing)
            return db
        except sqlite3.OperationalError:
            db.close()
            if mode.endswith("immutable=1"):
                raise
        except BaseException:
            db.close()
            raise
    raise AssertionError("unreachable")


def _legacy_view(path: Path, mode: str, missing: list[str]) -> sqlite3.Connection:
    """An older state, read as if it had the newer columns (a dry run never upgrades it)."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(f"ATTACH DATABASE 'file:{path}?{mode}' AS old")
    added = "".join(f", {0 if name == 'ctime_ns' else repr('')} AS {name}" for name in missing)
    db.execute(f"CREATE TEMP VIEW files AS SELECT *{added} FROM old.files")
    return db


def check_integrity(db: sqlite3.Connection) -> None:
    verdict = db.execute("PRAGMA quick_check").fetchone()
    if verdict is None or verdict[0] != "ok":
        raise sqlite3.DatabaseError(f"integrity check failed: {verdict[0] if verdict else 'no answer'}")
