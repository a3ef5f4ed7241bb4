"""The run lock excludes a second run, names its holder, and dies with its process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from batchscribe.errors import LockHeldError
from batchscribe.outputs.layout import OutFolder
from batchscribe.results import FileResult
from batchscribe.state.ledger import Ledger, RunLock, Sighting

HOLD_LOCK = """
import sys
from pathlib import Path
from batchscribe.state.ledger import RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes our stdin (or kills us)
"""


def test_second_run_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            with pytest.raises(LockHeldError, match=f"pid {holder.pid}"):
                RunLock(tmp_path).acquire()
        finally:
            holder.kill()
    # The kernel dropped the dead holder's lock: the next run takes it over.
    with RunLock(tmp_path).held():
        pass


def test_ledger_records_and_reads_back(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    result = FileResult(
        source="a/b.wav",
        path=tmp_path / "b.wav",
        status="succeeded",
        attempts=2,
        outputs=(tmp_path / "b.wav.json",),
    )
    ledger.record(result, size=10, mtime_ns=5, sha256="ab", settings="s1", run_id="r1")
    ledger.close()
    rows = Ledger(tmp_path).rows()
    row = rows["a/b.wav"]
    assert (row.size, row.mtime_ns, row.sha256, row.settings_hash, row.status, row.attempts) == (
        10,
        5,
        "ab",
        "s1",
        "succeeded",
        2,
    )
    assert row.outputs == (str(tmp_path / "b.wav.json"),)


def test_ctime_and_sightings_are_kept_and_an_older_state_reads_them_as_unknown(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    result = FileResult(
        source="a.wav",
        path=tmp_path / "a.wav",
        status="succeeded",
        attempts=1,
        outputs=(tmp_path / "a.wav.json",),
    )
    ledger.record(result, size=10, mtime_ns=5, sha256="ab", settings="s1", run_id="r1", ctime_ns=7)
    assert (ledger.row("a.wav") or pytest.fail()).ctime_ns == 7
    ledger.touch("a.wav", size=10, mtime_ns=5, ctime_ns=9)  # chmod-ed: the same content
    ledger.sighted("b.wav", Sighting(3, 4, 5, first_seen_ns=6))
    ledger.close()
    reopened = Ledger(tmp_path, read_only=True)
    assert (reopened.row("a.wav") or pytest.fail()).ctime_ns == 9
    assert reopened.sighting("b.wav") == Sighting(3, 4, 5, 6) and reopened.sighting("a.wav") is None
    reopened.close()

    with sqlite3.connect(OutFolder(tmp_path).ledger_path) as db:  # as an older release left it
        db.execute("ALTER TABLE files DROP COLUMN ctime_ns")
        db.execute("DROP TABLE sightings")
    db.close()
    older = Ledger(tmp_path, read_only=True)  # a dry run never upgrades it
    assert (older.row("a.wav") or pytest.fail()).ctime_ns == 0 and older.sighting("b.wav") is None
    older.close()
    upgraded = Ledger(tmp_path)
    assert (upgraded.row("a.wav") or pytest.fail()).ctime_ns == 0 and upgraded.sighting("b.wav") is None
    upgraded.close()
