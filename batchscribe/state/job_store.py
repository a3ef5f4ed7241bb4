"""What a batch run has at the service: its jobs and the recordings in each, kept across runs.

SQLite beside the ledger (``_state/batch.sqlite``), written before and after every step, so a
run killed at any moment neither submits a recording twice nor loses one:

1. ``reserve``: the job (by display name, state ``submitting``) and its recordings, in one
   transaction, before the submit call;
2. ``submitted``: its id once the service answered. A job still ``submitting`` on the next run
   is looked up by display name; found, it is adopted, else submitted again (it never was);
3. ``done``: a recording whose result was written and recorded in the ledger is no longer
   pending (its row stays, naming its upload, until the job is dropped);
4. ``collected``: every recording of the job is done; then the job is deleted at the service,
   its uploads removed, and ``drop`` forgets it. A ``collected`` job found on the next run only
   needs that cleanup (never a status check, which would read as lost).

A recording in the store is *pending at the service*: planning does not send it again.

Uploads come before ``reserve``: each is first recorded as an *intent* (``intend``: its name and
the run), dropped by ``reserve`` (the job names it now) or ``forget_intents`` (the recording
failed). An intent left by a killed run names an upload nothing else records: the next run
removes it (``JobDriver.resume``) unless a job still names it.

Every upload lives under the output folder's id (``folder_id``: random, made by the first run
that uploads, kept here so a folder moved to another machine keeps it): output folders sharing a
container never share an upload, so one folder's cleanup cannot remove what another's job still
reads. Jobs keep the names they were recorded with (an earlier version's unprefixed ones too).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from batchscribe.errors import RunAbortedError
from batchscribe.names import stored
from batchscribe.outputs.layout import OutFolder
from batchscribe.state.ledger_db import bounded_cache

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        name TEXT PRIMARY KEY, job_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
        created_at TEXT NOT NULL, submits INTEGER NOT NULL DEFAULT 1, lost INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS members (
        source TEXT PRIMARY KEY, path BLOB NOT NULL, job TEXT NOT NULL, idx INTEGER NOT NULL,
        upload TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
        settings TEXT NOT NULL, audio TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
        raw_source BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS members_job ON members(job)",
    "CREATE INDEX IF NOT EXISTS members_upload ON members(upload)",
    """CREATE TABLE IF NOT EXISTS intents (
        upload TEXT NOT NULL, run TEXT NOT NULL, PRIMARY KEY (upload, run))""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
FOLDER_ID_HEX = 16  # the folder id's length: 64 random bits


@dataclass(frozen=True)
class Member:
    """One recording of a job: where it came from and what was uploaded."""

    source: str  # relative to its root, as discovery found it (any bytes: kept as a BLOB)
    path: Path
    index: int
    upload: str
    sha256: str
    size: int
    mtime_ns: int
    settings: str  # the transcript settings' hash it was submitted with
    audio: dict[str, object]  # AudioInfo's fields


@dataclass(frozen=True)
class StoredJob:
    name: str  # the display name
    job_id: str  # '' while submitting
    state: str  # submitting | submitted | collected
    created_at: str
    submits: int
    lost: int


class JobStore:
    """The batch state of one output folder; one writer (the run holding the lock)."""

    def __init__(self, out_dir: Path) -> None:
        layout = OutFolder(out_dir)
        path = layout.state_dir / "batch.sqlite"
        self._lock = threading.Lock()
        self._folder_id = ""
        self._settings: dict[str, dict[str, object] | None] = {}
        try:
            layout.state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            bounded_cache(self._db)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a submit recorded must survive a power cut
            for statement in _SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as exc:
            raise RunAbortedError(
                f"cannot use the batch state {path}: {exc}", hint="check that --out is writable"
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for sql, args in statements:
                    self._db.execute(sql, tuple(args))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise RunAbortedError(
                    f"cannot update the batch state: {exc}", hint="check that --out is writable and has space"
                ) from exc

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def folder_id(self) -> str:
        """This output folder's id, the prefix of its uploads' names; made at the first call."""
        if not self._folder_id:
            made = secrets.token_hex(FOLDER_ID_HEX // 2)
            self._write([("INSERT OR IGNORE INTO meta VALUES ('folder_id', ?)", (made,))])
            self._folder_id = str(self._read("SELECT value FROM meta WHERE key='folder_id'")[0][0])
        return self._folder_id

    def remember_settings(self, settings_hash: str, settings: Mapping[str, object]) -> None:
        """The transcript settings a hash stands for: a job collected by a run with other settings
        still says in its outputs the settings it was transcribed with (``settings_of``)."""
        value = json.dumps(settings, sort_keys=True)
        self._write([("INSERT OR IGNORE INTO meta VALUES (?, ?)", (f"settings:{settings_hash}", value))])

    def settings_of(self, settings_hash: str) -> dict[str, object] | None:
        """What ``remember_settings`` kept for the hash (None: not kept, or unreadable)."""
        if settings_hash not in self._settings:
            rows = self._read("SELECT value FROM meta WHERE key=?", (f"settings:{settings_hash}",))
            try:
                found = json.loads(str(rows[0][0])) if rows else None
            except ValueError:
                found = None
            self._settings[settings_hash] = found if isinstance(found, dict) else None
        return self._settings[settings_hash]

    def intend(self, run: str, uploads: Sequence[str]) -> None:
        """Before uploading: the names about to be uploaded by this run."""
        self._write([("INSERT OR IGNORE INTO intents VALUES (?, ?)", (u, run)) for u in uploads])

    def forget_intents(self, run: str, uploads: Sequence[str]) -> None:
        """Intents that need no cleanup any more (the recording failed, or the orphan is gone)."""
        self._write([("DELETE FROM intents WHERE upload=? AND run=?", (u, run)) for u in uploads])

    def intents(self) -> list[tuple[str, str]]:
        """Every intent left: (upload, run)."""
        return [(str(r[0]), str(r[1])) for r in self._read("SELECT upload, run FROM intents ORDER BY run")]

    def upload_named(self, upload: str) -> bool:
        """Whether a job of the store names this upload (its cleanup removes it, not an intent's)."""
        return bool(self._read("SELECT 1 FROM members WHERE upload=? LIMIT 1", (upload,)))

    def reserve(self, name: str, members: Sequence[Member], *, run: str = "") -> None:
        """Before the submit call: the job and its recordings, all or nothing; the run's
        intents for their uploads are dropped in the same transaction."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._write(
            [
                *(("DELETE FROM intents WHERE upload=? AND run=?", (m.upload, run)) for m in members),
                ("INSERT INTO jobs (name, state, created_at) VALUES (?, 'submitting', ?)", (name, now)),
                *(
                    (
                        "INSERT OR REPLACE INTO members VALUES (?,?,?,?,?,?,?,?,?,?,0,?)",
                        (
                            stored(m.source),
                            os.fsencode(str(m.path)),
                            name,
                            m.index,
                            m.upload,
                            m.sha256,
                            m.size,
                            m.mtime_ns,
                            m.settings,
                            json.dumps(m.audio),
                            os.fsencode(m.source),
                        ),
                    )
                    for m in members
                ),
            ]
        )

    def submitted(self, name: str, job_id: str) -> None:
        self._write([("UPDATE jobs SET job_id=?, state='submitted' WHERE name=?", (job_id, name))])

    def resubmitting(self, name: str, *, lost: bool) -> None:
        """The job is sent again (it failed for a passing reason, or the service lost it)."""
        self._write(
            [
                (
                    "UPDATE jobs SET job_id='', state='submitting', submits=submits+1, lost=lost+? "
                    "WHERE name=?",
                    (int(lost), name),
                )
            ]
        )

    def done(self, source: str) -> None:
        self._write([("UPDATE members SET done=1 WHERE source=?", (stored(source),))])

    def collected(self, name: str) -> None:
        self._write([("UPDATE jobs SET state='collected' WHERE name=?", (name,))])

    def drop(self, name: str) -> None:
        self._write(
            [("DELETE FROM members WHERE job=?", (name,)), ("DELETE FROM jobs WHERE name=?", (name,))]
        )

    def jobs(self) -> list[StoredJob]:
        rows = self._read(
            "SELECT name, job_id, state, created_at, submits, lost FROM jobs ORDER BY created_at"
        )
        return [
            StoredJob(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(str(r[4])), int(str(r[5])))
            for r in rows
        ]

    def job(self, name: str) -> StoredJob | None:
        return next((j for j in self.jobs() if j.name == name), None)

    def members(self, name: str) -> list[Member]:
        rows = self._read(
            "SELECT raw_source, path, idx, upload, sha256, size, mtime_ns, settings, audio FROM members "
            "WHERE job=? AND done=0 ORDER BY idx",
            (name,),
        )
        return [
            Member(
                _name(r[0]),
                Path(_name(r[1])),
                int(str(r[2])),
                str(r[3]),
                str(r[4]),
                int(str(r[5])),
                int(str(r[6])),
                str(r[7]),
                json.loads(str(r[8])),
            )
            for r in rows
        ]

    def pending(self, source: str) -> bool:
        """Whether this recording waits at the service (planning must not send it again)."""
        return bool(self._read("SELECT 1 FROM members WHERE source=? AND done=0", (stored(source),)))

    def pending_count(self) -> int:
        return int(str(self._read("SELECT COUNT(*) FROM members WHERE done=0")[0][0]))

    def upload_in_use(self, upload: str) -> bool:
        """Whether a recording still waiting needs this upload."""
        return bool(self._read("SELECT 1 FROM members WHERE upload=? AND done=0", (upload,)))

    def uploads(self, name: str) -> set[str]:
        """Every upload of a job, done or not."""
        return {str(r[0]) for r in self._read("SELECT upload FROM members WHERE job=?", (name,))}


def _name(value: object) -> str:
    """A file name stored as its bytes (names need not be valid UTF-8)."""
    if not isinstance(value, bytes):
        raise TypeError(f"a stored name is not bytes: {value!r}")
    return os.fsdecode(value)
