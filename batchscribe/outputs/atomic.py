"""Write a file so that readers see the old content or the new one, never a part of it.

The data goes to a hidden temp file in the same folder (``.batchscribe-<12 hex>.tmp``: same file
system, so the rename is atomic), is flushed and fsynced, then renamed over the target; the folder
is fsynced so the rename itself survives a power cut. On any error the temp file is removed and
the error re-raised; a full disk (or quota) becomes ``OutOfDiskError``, which aborts the run.

Temp names have a fixed length (29 bytes, whatever the target's name: a 255-byte name still has
a temp name) and a shape no other program uses, so batchscribe can tell its own temp files from
the user's. A run killed mid-write can leave one; ``remove_stale_temp_files`` clears those, only
in the folders it is given (those batchscribe writes to) and only names of exactly that shape. It
must run before the run's own writers start (the runner holds the output folder's lock then).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from batchscribe.errors import out_of_disk
from batchscribe.names import shown

TEMP_PREFIX = ".batchscribe-"
TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"\.batchscribe-[0-9a-f]{12}\.tmp")
# What versions before 0.x named them: ".<output name>.<12 hex>.tmp"; still cleared.
_OLD_TEMP_NAME = re.compile(r"\..+\.(json|txt|srt|vtt|md|html)\.[0-9a-f]{12}\.tmp", re.DOTALL)
_DIRECTORY_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP})
_CHUNK = 1 << 20


def temp_path_for(path: Path) -> Path:
    """A fresh temp name next to ``path``; random so concurrent writers never share one."""
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """A temp file batchscribe made: exactly ``.batchscribe-<12 lowercase hex>.tmp``."""
    return bool(_TEMP_NAME.fullmatch(name))


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


def remove_stale_temp_files(folders: Iterable[Path]) -> tuple[Path, ...]:
    """Delete the temp files a killed run left in ``folders`` (not below them); returns them.

    Only regular files named exactly as ``temp_path_for`` names them are removed: a user's own
    ``.session.tmp`` next to the outputs stays.
    """
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # not there (yet), or not readable: nothing of ours to clear
        for entry in entries:
            ours = is_temp_name(entry.name) or _OLD_TEMP_NAME.fullmatch(entry.name)
            if ours and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    Path(entry.path).unlink()
                    removed.append(Path(entry.path))
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
    if (full := out_of_disk(exc, shown(str(path.parent)))) is not None:
        raise full from exc
