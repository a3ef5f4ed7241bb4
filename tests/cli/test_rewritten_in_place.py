"""A recording rewritten in place after a night recorded it done, with its size and mtime put
back (``touch -r``), is redone the next night: the ledger keeps the inode's change time, which no
copy or ``touch`` can put back, and a new one has the content hash decide. A ``chmod`` changes
the change time too, and must not be paid for again (issue 17, item 17, across nights)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from batchscribe.audio import sha256_of
from tests.cli.cli_process import batchscribe, planned, recording

pytestmark = pytest.mark.integration


def transcript_sha(out: Path) -> str:
    return str(json.loads((out / "call.wav.json").read_text(encoding="utf-8"))["batchscribe"]["sha256"])


def night(root: Path, out: Path) -> str:
    done = batchscribe("run", root, "--out", out, "--emulate")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def rewrite_keeping_size_and_mtime(path: Path) -> None:
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-4000:] = bytes(b ^ 0x5A for b in data[-4000:])  # other samples, same length
    with path.open("r+b") as handle:  # in place: the same inode
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def test_rewritten_in_place_with_mtime_restored_is_redone_and_a_chmod_is_not(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    path = recording(root / "call.wav")
    night(root, out)
    first = transcript_sha(out)
    assert first == sha256_of(path)

    rewrite_keeping_size_and_mtime(path)
    redo = night(root, out)
    assert transcript_sha(out) == sha256_of(path) != first, redo  # the new content was transcribed

    stamp = (out / "call.wav.json").stat().st_mtime_ns
    path.chmod(0o600)  # the change time moves, the content does not
    os.link(path, tmp_path / "hard-link.wav")  # and again
    night(root, out)
    assert (out / "call.wav.json").stat().st_mtime_ns == stamp  # not transcribed again
    assert planned(root, out=out)["done"] == 1


def test_a_state_from_before_ctimes_were_kept_is_not_redone(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "call.wav")
    night(root, out)
    stamp = (out / "call.wav.json").stat().st_mtime_ns
    with sqlite3.connect(out / "_state" / "ledger.sqlite") as db:  # as an older release left it
        db.execute("ALTER TABLE files DROP COLUMN ctime_ns")
        db.execute("DROP TABLE sightings")
    db.close()
    assert planned(root, out=out)["done"] == 1  # read-only: the old state as it is
    night(root, out)
    assert (out / "call.wav.json").stat().st_mtime_ns == stamp  # not paid for again
    with sqlite3.connect(out / "_state" / "ledger.sqlite") as db:  # the ctime filled in meanwhile
        assert db.execute("SELECT ctime_ns FROM files").fetchall() == [
            ((root / "call.wav").stat().st_ctime_ns,)
        ]
    db.close()
