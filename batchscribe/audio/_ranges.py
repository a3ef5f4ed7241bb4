"""Read one track of a recording once, and later any sample range of it, without decoding again.

A long recording is recognized as several chunks, each in its own session. ``read_track`` reads
the track (the mixed-down recording, or one channel) once, streaming: a WAV that already is
16 kHz mono s16le is only read (its samples are then ranges of the file itself); anything else is
decoded once into a *spool*, a raw 16 kHz mono s16le file the caller names (next to the state).
Each block is on disk before ``on_pcm`` hears of it, so a chunk can start as soon as its end is
decoded. The read is hashed (``ReadReceipt``), as a whole-file session's would be.

``PcmRange`` says where a chunk's PCM is; ``RangeReader`` reads it (the ``PcmReader`` surface the
engine needs). Its receipt carries the track's SHA-256 from that one read, and the identity of
the recording *now*: a chunk of a WAV checks the very file it read (opened, finished, at its
path); a chunk of a spool checks that the recording at its path is still the one decoded.

A spool needs room: ``read_track`` is told how much (``spool_bytes``) and refuses to start when
the disk has less free (with ``SPOOL_RESERVE`` left over for the outputs and the state), and a
spool that cannot be written to its end is removed. Both are a ``SpoolSpaceError`` that says
what was needed and what is free.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from batchscribe.audio._decoding import PcmReader, open_pcm
from batchscribe.audio._failures import fail
from batchscribe.audio._files import FileIdentity, ReadReceipt, open_regular
from batchscribe.audio._raw import RawWavReader
from batchscribe.audio._reader import ReaderBookkeeping

SPOOL_RESERVE = 16_000_000  # left free after a spool: the outputs, the state, the report


def megabytes(size: int) -> str:
    return f"{size / 1e6:.0f}" if size >= 10e6 else f"{size / 1e6:.1f}"


class SpoolSpaceError(OSError):
    """Too little free space for a decoded track's spool (found before, or while writing it)."""

    def __init__(self, spool: Path, needed: int, free: int) -> None:
        what = f"needs {megabytes(needed)} MB to split; free space {megabytes(free)} MB"
        super().__init__(errno.ENOSPC, what, str(spool.parent))
        self.needed, self.free = needed, free


_BLOCK = 1 << 20  # 32 s of PCM per read: flat memory, few system calls


@dataclass(frozen=True)
class PcmRange:
    """Bytes ``[offset, offset + length)`` of ``read_path``: 16 kHz mono s16le of a recording."""

    read_path: Path  # the recording itself (a plain WAV) or its spool
    offset: int
    length: int
    source_path: Path  # the recording
    source: FileIdentity  # the recording when its track was read
    sha256: str  # of the recording, from that read

    @property
    def spooled(self) -> bool:
        return self.read_path != self.source_path


@dataclass(frozen=True)
class Track:
    """One read track: where its PCM is, how long it is, and what the read found."""

    read_path: Path
    offset: int
    samples: int
    receipt: ReadReceipt
    warnings: tuple[str, ...] = ()

    def range(self, start: int, end: int, source_path: Path) -> PcmRange:
        """The PCM of samples ``[start, end)``."""
        return PcmRange(self.read_path, self.offset + 2 * start, 2 * (end - start), source_path,
                        self.receipt.opened, self.receipt.sha256)  # fmt: skip


def read_track(
    path: Path,
    *,
    channel: int | None,
    spool: Path,
    on_pcm: Callable[[bytes], None],
    on_open: Callable[[Path, int, FileIdentity], None] | None = None,
    spool_bytes: int = 0,
) -> Track:
    """Read (or decode into ``spool``) one track of ``path``, handing each block to ``on_pcm``.

    ``on_open(read_path, offset, identity)`` hears first where the track's PCM will be and which
    file was opened. ``AudioError`` when it cannot be read at all; a spool that cannot be
    written is an ``OSError`` (``SpoolSpaceError`` when the disk lacks room for ``spool_bytes``
    or fills up), and is removed.
    """
    reader = open_pcm(path, channel=channel)
    try:
        read_path, offset = (path, reader.data_offset) if isinstance(reader, RawWavReader) else (spool, 0)
        if on_open is not None:
            on_open(read_path, offset, reader.opened)
        if isinstance(reader, RawWavReader):
            samples = _read_through(reader, on_pcm)
        else:
            samples = _decode_into(reader, spool, on_pcm, spool_bytes)
        warnings = tuple(reader.warnings)
        receipt = reader.finish()
    finally:
        reader.close()
    if receipt is None:
        raise fail("vanished", "the file could not be read to its end")
    return Track(read_path, offset, samples, receipt, warnings)


def _read_through(reader: RawWavReader, on_pcm: Callable[[bytes], None]) -> int:
    total = 0
    while block := reader.read(_BLOCK):
        total += len(block)
        on_pcm(block)
    return total // 2


def _decode_into(reader: PcmReader, spool: Path, on_pcm: Callable[[bytes], None], needed: int) -> int:
    spool.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        spool.unlink()  # an earlier run's, which the free space below must not count as used
    free = shutil.disk_usage(spool.parent).free
    if needed and free < needed + SPOOL_RESERVE:
        raise SpoolSpaceError(spool, needed + SPOOL_RESERVE, free)
    try:
        return _spool(reader, spool, on_pcm)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            spool.unlink()  # a spool cut short is of no use, and it holds the disk
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise SpoolSpaceError(spool, needed + SPOOL_RESERVE,
                                  shutil.disk_usage(spool.parent).free) from exc  # fmt: skip
        raise


def _spool(reader: PcmReader, spool: Path, on_pcm: Callable[[bytes], None]) -> int:
    total = 0
    # The spool is batchscribe's own file: whatever was at its path (an earlier run's spool, or a
    # FIFO or symlink put there, which an open for writing would block on or follow) is removed
    # by now, and the new one is created, never opened.
    fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "wb", buffering=0) as out:  # unbuffered: on disk before on_pcm hears of it
        while block := reader.read(_BLOCK):
            out.write(block)
            total += len(block)
            on_pcm(block)
        os.fsync(out.fileno())
    return total // 2


def _identity_at(path: Path) -> FileIdentity | None:
    try:
        return FileIdentity.of(path.stat())
    except OSError:
        return None


class RangeReader(ReaderBookkeeping):
    """Reads a ``PcmRange``; the surface of ``PcmReader`` the engine uses (thread-safe)."""

    def __init__(self, pcm: PcmRange) -> None:
        super().__init__()
        self.pcm = pcm
        self.warnings: list[str] = []
        self._file: io.FileIO
        self._file, st = open_regular(pcm.read_path)
        self._opened = FileIdentity.of(st)
        self._position = pcm.offset
        self._left = pcm.length

    def readinto(self, buffer: memoryview) -> int:
        with self._lock:
            if self._closed:
                raise ValueError("read from a closed RangeReader")
            wanted = min(buffer.nbytes, self._left)
            if wanted <= 0:
                return 0
            data = os.pread(self._file.fileno(), wanted, self._position)
            if not data:  # shorter than when it was read: the receipt will say it changed
                self._left = 0
                return 0
            buffer[: len(data)] = data
            self._position += len(data)
            self._left -= len(data)
            return len(data)

    def _receipt(self) -> ReadReceipt:
        """What was read: the track's digest and whether the recording is still the one read."""
        if self.pcm.spooled:
            opened = finished = self.pcm.source
        else:
            opened, finished = self._opened, FileIdentity.of(os.fstat(self._file.fileno()))
            if opened != self.pcm.source:
                opened = self.pcm.source  # replaced since its track was read
        return ReadReceipt(self.pcm.sha256, opened, finished, _identity_at(self.pcm.source_path))

    def _release(self) -> None:
        self._file.close()
