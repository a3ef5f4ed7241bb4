"""``RawWavReader``: a WAV that is already 16 kHz mono s16le, read as it is (no FFmpeg).

The Speech SDK wants exactly these bytes, so decoding them would only cost CPU (it was ~30% of a
session's CPU): ``readinto`` reads the samples from the file straight into the caller's buffer
(the SDK's), through the ``HashingFile`` that hashes them on the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchscribe.audio._files import FileIdentity, HashingFile, ReadReceipt
from batchscribe.audio._reader import ReaderBookkeeping

if TYPE_CHECKING:
    from batchscribe.audio._probing import AudioInfo, WavLayout

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2


class RawWavReader(ReaderBookkeeping):
    """Reads the samples of a 16 kHz mono s16le WAV; the same surface as ``PcmReader``.

    ``read``/``readinto`` and ``close``/``finish`` may come from different threads (the SDK
    reads on its own thread): a lock keeps the file from being closed mid-read, and a read after
    ``close`` raises ``ValueError`` as files do.
    """

    def __init__(self, file: HashingFile, layout: WavLayout, channel: int | None) -> None:
        super().__init__()
        self.info: AudioInfo = layout.info()
        self.data_offset = layout.data_offset  # where the samples start in the file
        self.channel = channel
        self.warnings: list[str] = []
        self._file = file
        self._left = layout.data_bytes - layout.data_bytes % 2  # a torn last sample is dropped
        self._bytes_read = 0

    @property
    def seconds_read(self) -> float:
        return self._bytes_read / BYTES_PER_SECOND

    seconds_decoded = seconds_read

    @property
    def opened(self) -> FileIdentity:
        """The file that was opened, as it was then."""
        return self._file.opened

    def readinto(self, buffer: memoryview) -> int:
        """Up to ``len(buffer)`` bytes of PCM into ``buffer``; 0 at the end of the recording."""
        with self._lock:
            if self._closed:
                raise ValueError("read from a closed RawWavReader")
            wanted = min(buffer.nbytes, self._left)
            if wanted <= 0:
                return 0
            got = 0
            with buffer[:wanted] as target:
                while got < wanted:
                    with target[got:] as rest:
                        n = self._file.readinto(rest)
                    if not n:  # the file is shorter than when it was opened
                        self._left = 0
                        break
                    got += n
            self._left -= got
            self._bytes_read += got
            return got

    def _receipt(self) -> ReadReceipt:
        return self._file.receipt()

    def _release(self) -> None:
        self._file.close()
