"""What was done with which settings: SQLite state next to the outputs, and the run lock.

Key: the recording's ``source`` (its path relative to the scanned root, which also names its
outputs), as ``names.stored`` writes it: a name that is not valid UTF-8 is kept escaped. A
recording is *done* when the ledger says it succeeded with the same content and the same
transcript-affecting settings, and its outputs still exist. The per-file JSON is the truth
and the ledger an index of it: a JSON written just before a kill -9, before the ledger heard of
it, is adopted on the next run instead of being paid for twice.

The file's stat (size, mtime and, since a later release, ctime) is kept with its row: the planner
compares it with what discovery sees (``planner.decide``); a ctime of 0 is "unknown" (a row from an
older release) and is filled in the next time the file is looked at. ``sightings`` remembers when a
file whose times are all in the future was first seen unchanged (``planner.settle``).

The run lock (``RunLock``, re-exported here) lives in ``state.run_lock``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from batchscribe.errors import OutOfDiskError, RunAbortedError
from batchscribe.names import stored
from batchscribe.outputs.layout import OutFolder
from batchscribe.results import FileResult
from batchscribe.state.ledger_db import open_for_writing, open_read_only
from batchscribe.state.run_lock import LockInfo as LockInfo  # re-exported
from batchscribe.state.run_lock import RunLock as RunLock  # re-exported

_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
Decision = Literal[
    "new", "changed", "done", "failed_before", "known_failure", "forced", "outputs_missing", "rerender"
]

_COLUMNS = (
    "source, path, size, mtime_ns, sha256, settings_hash, status, attempts, error_code, error, outputs,"
    " audio_seconds, run_id, updated_at, error_class, failing_since, json_stamp"
)


def json_stamp(path: Path) -> str:
    """What a transcript JSON looks like on disk (size and mtime): if it changes, read it again."""
    try:
        st = path.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def settings_hash(transcript_settings: dict[str, object]) -> str:
    """A stable digest of the settings that change a transcript (language, format, model...)."""
    blob = json.dumps(transcript_settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Sighting:
    """A file whose times are in the future, as it was first seen unchanged (its stat, and when)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    first_seen_ns: int  # this machine's time, ns since the epoch

    def same_file(self, size: int, mtime_ns: int, ctime_ns: int) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (size, mtime_ns, ctime_ns)


@dataclass(frozen=True)
class LedgerRow:
    source: str
    size: int
    mtime_ns: int
    sha256: str
    settings_hash: str
    status: str
    attempts: int
    error_code: str
    outputs: tuple[str, ...]
    json_stamp: str = ""  # size:mtime_ns of the JSON when it was last known to match this row
    error_class: str = ""  # transient | permanent | fatal, for a failed file
    error: str = ""
    failing_since: str = ""  # when a failed file first failed (ISO UTC), kept while it keeps failing
    ctime_ns: int = 0  # the file's inode change time when recorded; 0: unknown (an older state)

    @property
    def failed_permanently(self) -> bool:
        return self.status == "failed" and self.error_class == "permanent"


class Ledger:
    """The state database of one output folder. One writer: the run holding the lock."""

    def __init__(self, out_dir: Path, *, read_only: bool = False) -> None:
        """Open (creating if needed) the state of ``out_dir``; ``read_only`` for dry runs.

        A read-only ledger never creates or changes anything: a missing database reads as empty,
        and ``adopt``/``touch``/``record`` do nothing; a damaged one reads as empty too, with
        ``damaged`` saying what is wrong. A writable one that is damaged is moved aside
        (``ledger.sqlite.damaged-<time>``) and started afresh, ``damaged`` saying so: the
        transcripts on disk are then adopted again by the planner, nothing done is paid twice.
        """
        self.read_only = read_only
        self.damaged = ""
        self._lock = threading.Lock()  # workers record from several threads
        layout = OutFolder(out_dir)
        folder, path = layout.state_dir, layout.ledger_path
        self._folder = folder
        self._db: sqlite3.Connection | None = None
        try:
            if read_only:
                self._db = open_read_only(path) if path.is_file() else None
                return
            folder.mkdir(parents=True, exist_ok=True)
            self._db = open_for_writing(path)
        except sqlite3.OperationalError as exc:  # cannot open or write: permissions, read-only disk
            raise RunAbortedError(
                f"cannot use the state database {path}: {exc}",
                hint=f"check that {folder} is readable and writable (and not on a share without locking)",
            ) from exc
        except sqlite3.DatabaseError as exc:  # not a database, truncated, malformed
            if read_only:
                self.damaged = f"the state database {path} is damaged ({exc})"
                return
            aside = path.with_name(f"{path.name}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
            self.damaged = f"the state database was damaged ({exc}); moved aside to {aside} and rebuilt"
            self._db = self._rebuild(path, aside)
        except OSError as exc:
            raise RunAbortedError(
                f"cannot open the state database in {folder}: {exc.strerror or exc}",
                hint="check that the output folder is writable",
            ) from exc

    def _rebuild(self, path: Path, aside: Path) -> sqlite3.Connection:
        try:
            for suffix in ("", "-wal", "-shm"):
                damaged = path.with_name(path.name + suffix)
                if damaged.exists():
                    damaged.replace(aside.with_name(aside.name + suffix))
            return open_for_writing(path)
        except (OSError, sqlite3.Error) as exc:
            raise RunAbortedError(
                f"{self.damaged.split(';')[0]}, and it could not be replaced: {exc}",
                hint=f"move {path} aside yourself; the next run rebuilds it from the transcripts on disk",
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    def _execute(self, sql: str, args: tuple[object, ...]) -> None:
        if self.read_only or self._db is None:
            return
        with self._lock:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error as exc:
                raise self._write_failure(exc) from exc

    def _write_failure(self, exc: sqlite3.Error) -> RunAbortedError:
        """A failed update of the state, as the one line that ends the run."""
        if getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL or "full" in str(exc):
            return OutOfDiskError(
                f"the disk is full: no space left in {self._folder} (the state database could not be updated)"
            )
        return RunAbortedError(
            f"cannot update the state database in {self._folder}: {exc}",
            hint="check that the output folder is writable; `batchscribe doctor` checks the state",
        )

    def rows(self) -> dict[str, LedgerRow]:
        """Every well-formed row by source; a row with a bad value is left out (the planner then
        decides that file from the disk, as if the state had never heard of it)."""
        fetched = self._select("", ())
        return {row.source: row for row in map(_row, fetched) if row is not None}

    def row(self, source: str) -> LedgerRow | None:
        """The well-formed row of one source (stored form), or None: one lookup, nothing cached,
        so planning a run holds one row at a time however many files the state knows."""
        fetched = self._select(" WHERE source=?", (source,))
        return _row(fetched[0]) if fetched else None

    def _select(self, where: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        if self._db is None:
            return []
        with self._lock:
            try:
                return self._db.execute(
                    "SELECT source, size, mtime_ns, sha256, settings_hash, status, attempts, error_code,"
                    " outputs, json_stamp, error_class, error, failing_since, ctime_ns"
                    f" FROM files{where}",
                    args,
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                raise RunAbortedError(
                    f"cannot read the state database in {self._folder}: {exc}",
                    hint="`batchscribe doctor` checks it; a damaged one is rebuilt by the next run",
                ) from exc

    def record(
        self,
        result: FileResult,
        *,
        size: int,
        mtime_ns: int,
        sha256: str,
        settings: str,
        run_id: str,
        ctime_ns: int = 0,
    ) -> None:
        failure = result.failure
        now = _now()
        # A file that keeps failing keeps the date it first failed ("still failing since").
        since = "(SELECT failing_since FROM files WHERE source=? AND status='failed' AND failing_since!='')"
        self._execute(
            f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
            f"CASE WHEN ?='failed' THEN COALESCE({since}, ?) ELSE '' END, ?)",
            (
                stored(result.source), stored(str(result.path)), size, mtime_ns, sha256, settings,
                result.status, result.attempts,
                failure.code if failure else "", failure.message if failure else "",
                json.dumps([str(p) for p in result.outputs]), result.audio_seconds, run_id, now,
                failure.error_class if failure else "", result.status, stored(result.source), now,
                json_stamp(result.outputs[-1]) if result.outputs else "",
            ),
        )  # fmt: skip
        self._set_ctime(result.source, ctime_ns)

    def adopt(self, source: str, path: Path, *, size: int, mtime_ns: int, sha256: str, settings: str,
              outputs: Sequence[Path], run_id: str, ctime_ns: int = 0) -> None:  # fmt: skip
        """Record a transcript found on disk that the ledger did not know about."""
        self._execute(
            f"INSERT OR REPLACE INTO files ({_COLUMNS})"
            " VALUES (?,?,?,?,?,?,'succeeded',1,'','',?,0,?,?,'','',?)",
            (
                stored(source), stored(str(path)), size, mtime_ns, sha256, settings,
                json.dumps([str(p) for p in outputs]), run_id, _now(), json_stamp(outputs[-1]),
            ),
        )  # fmt: skip
        self._set_ctime(source, ctime_ns)

    def stamp(self, source: str, json_stamp: str) -> None:
        """The transcript JSON was checked against this row: skip re-reading it while unchanged."""
        self._execute("UPDATE files SET json_stamp=? WHERE source=?", (json_stamp, stored(source)))

    def touch(self, source: str, *, size: int, mtime_ns: int, ctime_ns: int = 0) -> None:
        """The file was copied, touched or chmod-ed but its content is the same: remember the new stat."""
        self._execute(
            "UPDATE files SET size=?, mtime_ns=?, ctime_ns=? WHERE source=?",
            (size, mtime_ns, ctime_ns, stored(source)),
        )

    def _set_ctime(self, source: str, ctime_ns: int) -> None:
        # Apart from the INSERT of the other columns, so the ctime migration stays its own step.
        self._execute("UPDATE files SET ctime_ns=? WHERE source=?", (ctime_ns, stored(source)))

    def sighting(self, source: str) -> Sighting | None:
        """When a file with times in the future was first seen unchanged, if it was."""
        if self._db is None:
            return None
        with self._lock:
            try:
                found = self._db.execute(
                    "SELECT size, mtime_ns, ctime_ns, first_seen_ns FROM sightings WHERE source=?",
                    (stored(source),),
                ).fetchone()
            except sqlite3.OperationalError:  # a read-only look at an older state: no such table
                return None
        try:
            return Sighting(*map(_int, found)) if found else None
        except TypeError:  # a bad value: as if never seen
            return None

    def sighted(self, source: str, seen: Sighting) -> None:
        """Remember a file with times in the future as it is seen now (``planner.settle`` decides)."""
        self._execute(
            "INSERT OR REPLACE INTO sightings (source, size, mtime_ns, ctime_ns, first_seen_ns)"
            " VALUES (?,?,?,?,?)",
            (stored(source), seen.size, seen.mtime_ns, seen.ctime_ns, seen.first_seen_ns),
        )


def _row(r: tuple[object, ...]) -> LedgerRow | None:
    try:
        outputs = json.loads(str(r[8]))
        row = LedgerRow(str(r[0]), _int(r[1]), _int(r[2]), str(r[3]), str(r[4]), str(r[5]), _int(r[6]),
                        str(r[7]), tuple(str(p) for p in outputs), str(r[9]),
                        error_class=str(r[10]), error=str(r[11]), failing_since=str(r[12]),
                        ctime_ns=_int(r[13]))  # fmt: skip
    except (ValueError, TypeError):
        return None
    return row


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"not an integer: {value!r}")
    return value
