"""The bookkeeping every PCM reader shares: one lock for reads and closing, closed once,
``finish`` (the receipt, then close), a context manager; ``read`` from ``readinto``.

``PcmReader`` (decoding), ``RawWavReader`` (a WAV read as it is) and ``RangeReader`` (a chunk's
bytes) differ only in how they read, what their receipt says and what they release.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TypeVar

from batchscribe.audio._files import ReadReceipt

_Reader = TypeVar("_Reader", bound="ReaderBookkeeping")


class ReaderBookkeeping:
    """Closing, finishing and the context manager; subclasses say what ``_receipt`` is and what
    ``_release`` frees, and read under ``self._lock`` while ``not self._closed``."""

    def __init__(self) -> None:
        self._closed = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the file (at once, or once a read running in another thread is over)."""
        with self._lock:
            self._close_locked()

    def finish(self) -> ReadReceipt | None:
        """The consumer is done with it: its receipt (None if it was closed already or the file
        cannot be read any more), then close."""
        with self._lock:
            if self._closed:
                return None
            try:
                return self._receipt()
            except OSError:
                return None
            finally:
                self._close_locked()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of PCM; ``b""`` at the end."""
        if size < 0:
            raise ValueError("size must be zero or more")
        buffer = bytearray(size)
        with memoryview(buffer) as view:
            n = self.readinto(view)
        return bytes(buffer[:n])

    def readinto(self, buffer: memoryview) -> int:
        raise NotImplementedError

    def _receipt(self) -> ReadReceipt:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _close_locked(self) -> None:
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self: _Reader) -> _Reader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:  # fmt: skip
        self.close()
