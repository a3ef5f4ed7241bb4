"""The atomic writer: old or new content, never a part; no temp file left behind."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from batchscribe.errors import OutOfDiskError
from batchscribe.outputs.atomic import is_temp_name, remove_stale_temp_files, write_atomic


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if is_temp_name(p.name))


def test_writes_text_as_utf8_and_creates_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "calls" / "2026" / "a.mp3.txt"
    write_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    assert leftovers(tmp_path) == []


def test_replaces_existing_content(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(b"old complete content")
    real_write = os.write
    calls = []

    def write_half_then_fail(fd: int, data: bytes | memoryview) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.EIO, "I/O error")
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.raises(OSError, match="I/O error"):
        write_atomic(target, b"x" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old complete content"
    assert leftovers(tmp_path) == []


def test_failure_before_any_file_exists_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", fail_fsync)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a.json", "{}")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_disk_full_becomes_out_of_disk_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(OutOfDiskError) as caught:
        write_atomic(tmp_path / "a.json", "{}")
    monkeypatch.undo()
    assert isinstance(caught.value.__cause__, OSError)
    assert str(tmp_path) in caught.value.message  # the folder that is full
    assert caught.value.hint
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(OSError):
        write_atomic(target, "{}")
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_file_mode_follows_the_umask_not_mkstemp(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_concurrent_writers_never_mix_their_content(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    payloads = [bytes([65 + n]) * 200_000 for n in range(8)]
    threads = [threading.Thread(target=write_atomic, args=(target, p)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads
    assert leftovers(tmp_path) == []


def test_remove_stale_temp_files_removes_only_its_own_temp_files_in_the_given_folders(tmp_path: Path) -> None:
    (tmp_path / "calls").mkdir()
    (tmp_path / "other").mkdir()
    stale = [tmp_path / ".batchscribe-0123456789ab.tmp", tmp_path / "calls" / ".b.wav.txt.ffffeeeeffff.tmp"]
    kept = [
        tmp_path / "a.mp3.json", tmp_path / "calls" / "notes.tmp", tmp_path / ".hidden",
        tmp_path / ".session.tmp", tmp_path / "calls" / ".batchscribe-0123.tmp",
        tmp_path / "other" / ".batchscribe-0123456789ab.tmp",  # not a folder it was asked to clear
    ]  # fmt: skip
    for path in stale + kept:
        path.write_text("x")
    assert remove_stale_temp_files([tmp_path, tmp_path / "calls"]) == tuple(sorted(stale))
    assert all(p.exists() for p in kept)
    assert not any(p.exists() for p in stale)


def test_temp_names_have_a_fixed_length_whatever_the_target(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 250 + ".json")  # 255 bytes: a longer temp name could not exist
    write_atomic(target, "{}")
    assert target.read_text() == "{}" and leftovers(tmp_path) == []


def test_remove_stale_temp_files_on_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert remove_stale_temp_files([tmp_path / "nope"]) == ()
