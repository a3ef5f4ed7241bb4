"""Write a file so that readers see the old content or the new one, never a part of it.

The data goes to a hidden temp file in the same folder (``.<name>.<random>.tmp``: same file
system, so the rename is atomic), is flushed and fsynced, then renamed over the target; the folder
is fsynced so the rename itself survives a power cut. On any error the temp file is removed and
the error re-raised; a full disk (or quota) becomes ``OutOfDiskError``, which aborts the run.

A run killed mid-write can leave a temp file; ``remove_stale_temp_files`` clears them, and must
run before the run's own writers start (the runner holds the output folder's lock then).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from batchscribe.errors import OutOfDiskError

TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_DIRECTORY_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP})
_CHUNK = 1 << 20


def temp_path_for(path: Path) -> Path:
    """A fresh temp name next to ``path``; random so concurrent writers never share one."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX) and len(name) > 5


def write_atomic(path: Path, data: bytes | str | Iterable[str]) -> None:
    """Replace ``path`` with ``data`` (str is written as UTF-8) atomically and durably.

    An iterable of str is written as it is produced, so a large document (a 3-hour transcript's
    JSON) never exists as one string in memory.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _raise_if_out_of_disk(exc, path)
        raise
    temp, fd = _create_temp(path)
    try:
        try:
            if isinstance(data, (bytes, str)):
                _write_all(fd, data.encode("utf-8") if isinstance(data, str) else data)
            else:
                _write_chunks(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(path)  # os.replace: atomic on POSIX and Windows, overwrites
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            _raise_if_out_of_disk(exc, path)
        raise
    _fsync_directory(path.parent)


def remove_stale_temp_files(folder: Path) -> tuple[Path, ...]:
    """Delete temp files a killed run left anywhere under ``folder``; returns what was removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return ()
    for root, _dirs, files in os.walk(folder):  # never follows symlinks out of the folder
        for name in files:
            if is_temp_name(name):
                stale = Path(root) / name
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
                    removed.append(stale)
    return tuple(sorted(removed))


def _create_temp(path: Path) -> tuple[Path, int]:
    # os.open with 0o666 lets the umask decide the mode, as for a normal file; mkstemp would
    # make every transcript 0600 and unreadable to the people who review them.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = temp_path_for(path)
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            _raise_if_out_of_disk(exc, path)
            raise


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def _write_chunks(fd: int, chunks: Iterable[str]) -> None:
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= _CHUNK:
            _write_all(fd, "".join(pending).encode("utf-8"))
            pending, size = [], 0
    _write_all(fd, "".join(pending).encode("utf-8"))


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS journals the rename
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some network and FUSE file systems cannot fsync a directory; the file is in place.
        if exc.errno not in _DIRECTORY_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def _raise_if_out_of_disk(exc: OSError, path: Path) -> None:
    if exc.errno in _NO_SPACE:
        raise OutOfDiskError(f"no space left to write {path} ({exc.strerror})") from exc
