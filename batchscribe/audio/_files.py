"""Opening recordings (regular files only, never blocking) and proving what was read.

Every open in this package goes through ``open_regular``: the path is checked with ``stat``
first (a FIFO, socket or device is refused without being opened), then opened with
``O_NONBLOCK`` (so a FIFO swapped in between the check and the open cannot block) and checked
again with ``fstat`` on the descriptor actually opened.

``HashingFile`` is the file object decoders read through: it hashes (SHA-256) the bytes as the
decoder reads them, so the digest recorded with a transcript is of the very bytes that were
transcribed, from one read of the file. Reads that jump ahead of what was hashed are not hashed
then; ``receipt()`` hashes whatever was never read in order from the same descriptor (the same
file, even if the path was replaced meanwhile) and returns a ``ReadReceipt``: the digest and the
file's identity (device, inode, size, mtime, ctime) when opened, when done, and at its path then.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from batchscribe.audio._failures import NOT_A_FILE_HINT, fail, to_audio_error

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_GAP_FILLED_AT_ONCE = 1 << 20  # a skip this small is hashed when it happens (no second pass)
_CHUNK = 1 << 20


class FileIdentity(NamedTuple):
    """What says a file is still the same one: its inode, its size and mtime, and its ctime.

    The ctime is what a rewrite in place cannot hide: ``os.utime`` can set the mtime back and the
    new content can have the old size, but the kernel moves the ctime on every write and every
    ``utime``. (A ``chmod`` moves it too: such a file is redone, which costs a session, never a
    wrong transcript.)"""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def rewritten_from(self, other: FileIdentity) -> bool:
        """The same inode, size and mtime as ``other``, but written to (or touched) since."""
        return self[:4] == other[:4] and self.ctime_ns != other.ctime_ns


@dataclass(frozen=True)
class ReadReceipt:
    """The SHA-256 of a recording's bytes as they were read, and whether it stayed the same file.

    ``opened``/``finished``: ``fstat`` of the open descriptor at open and once the read was done;
    ``at_path``: ``stat`` of the path then (None: nothing is there any more).
    """

    sha256: str
    opened: FileIdentity
    finished: FileIdentity
    at_path: FileIdentity | None
    reads_differ: bool = False  # several reads of it (one per channel) saw different bytes
    # Seconds of audio decoded from it, when it was decoded to its end (None: not known). The
    # header's duration can be wrong (joined MP3s announce the first part's): this is what was sent.
    decoded_s: float | None = None

    def change(self, *, size: int | None = None, mtime_ns: int | None = None) -> str:
        """Why the file cannot be trusted to be what was read ("" when it can); ``size`` and
        ``mtime_ns``: what the plan saw, which the file must still have had when opened."""
        if (size, mtime_ns) != (None, None) and (size, mtime_ns) != (self.opened.size, self.opened.mtime_ns):
            return "it changed between planning and its transcription"
        if self.reads_differ:
            return "its content differed between the reads of its channels"
        if self.finished != self.opened:
            return "it was written to while it was being transcribed"
        if self.at_path is not None and self.at_path.rewritten_from(self.opened):
            return "it was rewritten in place (with its old size and time) while it was being transcribed"
        if self.at_path is None:
            return "it was moved or deleted while it was being transcribed"
        if self.at_path != self.opened:
            return "it was replaced while it was being transcribed"
        return ""


def combine_receipts(receipts: list[ReadReceipt | None]) -> ReadReceipt | None:
    """One receipt for several reads of the same file (one session per channel)."""
    if not receipts or any(r is None for r in receipts):
        return None
    known = [r for r in receipts if r is not None]
    changed = next((r for r in known if r.change()), None)
    if changed is not None:
        return changed
    if any(r.sha256 != known[0].sha256 or r.opened != known[0].opened for r in known):
        return replace(known[0], reads_differ=True)
    return known[0]


def _identity_at(path: Path) -> FileIdentity | None:
    try:
        return FileIdentity.of(path.stat())
    except OSError:
        return None


def _refuse_unless_regular(st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise fail("unreadable", "the path is a directory, not a recording", NOT_A_FILE_HINT)
    if not stat.S_ISREG(st.st_mode):  # opening a fifo would block until someone writes to it
        raise fail("unreadable", "not a regular file (a pipe, socket or device)", NOT_A_FILE_HINT)


def open_regular(path: Path) -> tuple[io.FileIO, os.stat_result]:
    """Open ``path`` for reading if it is a regular file, never blocking; ``AudioError`` if not."""
    try:
        _refuse_unless_regular(path.stat())
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if isinstance(exc, NotADirectoryError):
            gone = "the file no longer exists (a folder on its path is gone)"
            raise fail("vanished", gone) from exc
        raise to_audio_error(exc, path) from exc
    try:
        st = os.fstat(fd)
        _refuse_unless_regular(st)  # swapped for something else between the stat and the open
        return io.FileIO(fd, "rb", closefd=True), st
    except BaseException:
        os.close(fd)
        raise


class HashingFile(io.RawIOBase):
    """A read-only file that hashes what is read from it, in order; see the module docstring."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file, st = open_regular(path)
        self.path = path
        self.name = str(path.absolute())  # FFmpeg guesses some raw formats by the extension
        self.opened = FileIdentity.of(st)
        self._digest = hashlib.sha256()
        self._position = 0
        self._hashed = 0  # bytes [0, _hashed) are in the digest

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        start = self._position
        n = self._file.readinto(buffer) or 0
        self._position = start + n
        if n and start <= self._hashed < start + n:
            with memoryview(buffer) as view:
                self._digest.update(view[self._hashed - start : n])
            self._hashed = start + n
        elif n and 0 < start - self._hashed <= _GAP_FILLED_AT_ONCE:
            self._hash_from_descriptor(until=start)
            with memoryview(buffer) as view:
                self._digest.update(view[:n])
            self._hashed = start + n
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._position = self._file.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()
        super().close()

    def receipt(self) -> ReadReceipt:
        """Hash what was never read in order, then say what was read and whether it changed."""
        self._hash_from_descriptor(until=None)
        finished = FileIdentity.of(os.fstat(self._file.fileno()))
        return ReadReceipt(self._digest.hexdigest(), self.opened, finished, _identity_at(self.path))

    def _hash_from_descriptor(self, until: int | None) -> None:
        fd = self._file.fileno()
        while until is None or self._hashed < until:
            size = _CHUNK if until is None else min(_CHUNK, until - self._hashed)
            chunk = os.pread(fd, size, self._hashed)
            if not chunk:
                return
            self._digest.update(chunk)
            self._hashed += len(chunk)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a regular file (refused, never opened, if it is anything else)."""
    file = HashingFile(path)
    try:
        return file.receipt().sha256
    finally:
        file.close()
