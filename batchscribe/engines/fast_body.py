"""The multipart body of one fast transcription request, streamed from disk.

``Upload`` is the audio part: its bytes come in blocks from the disk, never whole in memory, and
its ``finish()`` says what was read (``ReadReceipt``: the SHA-256 and whether the file changed),
as every engine's read does. Three sources:

- ``file_upload``: a recording in a format the service takes, sent byte for byte as it is;
- ``pcm_upload``: 16 kHz mono PCM (one chunk of a long recording, or one channel) behind a WAV
  header, read from the track's spool or the recording itself;
- ``converted_upload``: any other recording decoded once into a WAV spool (under the run's state
  folder), sent from there and removed after.

``multipart(definition, upload)`` frames it with the ``definition`` JSON as
``multipart/form-data`` and knows its length up front (``Content-Length``: no chunked encoding).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batchscribe import audio
from batchscribe.audio import AudioInfo, PcmRange, RangeReader, ReadReceipt, open_pcm
from batchscribe.audio._files import HashingFile
from batchscribe.engines.fast_mapping import WAV_HEADER_BYTES
from batchscribe.errors import FileCancelled

BLOCK = 1 << 20
# Containers (FFmpeg demuxer names) and codecs the fast API reads as they are (its docs: WAV with
# PCM, A-law or mu-law, MP3, OPUS/OGG, FLAC, WMA, AAC, AMR, WebM, SPEEX).
_TAKEN = {
    "wav": {"pcm_s16le", "pcm_alaw", "pcm_mulaw"},
    "mp3": {"mp3"},
    "ogg": {"opus", "vorbis", "speex", "flac"},
    "flac": {"flac"},
    "asf": {"wmav1", "wmav2"},
    "aac": {"aac"},
    "amr": {"amr_nb", "amr_wb"},
    "matroska,webm": {"opus", "vorbis"},
}
_CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "asf": "audio/x-ms-wma",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "matroska,webm": "audio/webm",
}


def taken_as_is(info: AudioInfo) -> bool:
    """Whether the service reads this recording's format without conversion."""
    return info.codec in _TAKEN.get(info.container, set())


def wav_header(data_bytes: int, *, sample_rate: int = audio.SAMPLE_RATE, channels: int = 1) -> bytes:
    """A canonical 44-byte header for ``data_bytes`` of 16-bit PCM."""
    rate = sample_rate * channels * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, rate, channels * 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class _Reader(Protocol):
    def read(self, size: int) -> bytes: ...


@dataclass
class Upload:
    """The audio part: ``size`` bytes from ``blocks()``; ``finish()`` says what was read."""

    filename: str
    content_type: str
    size: int
    _blocks: Callable[[], Iterator[bytes]]
    _finish: Callable[[], ReadReceipt | None]
    _close: Callable[[], None]
    warnings: tuple[str, ...] = ()
    _closed: bool = field(default=False, init=False)

    def blocks(self) -> Iterator[bytes]:
        return self._blocks()

    def finish(self) -> ReadReceipt | None:
        return self._finish()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()


def _exactly(reader: _Reader, size: int, prefix: bytes = b"") -> Iterator[bytes]:
    """``prefix`` then ``size - len(prefix)`` bytes of ``reader``; zero-padded if the file came up
    short (it changed under us: the receipt says so and the transcript is not kept)."""
    if prefix:
        yield prefix
    left = size - len(prefix)
    while left > 0:
        block = reader.read(min(BLOCK, left))
        if not block:
            yield bytes(min(BLOCK, left))
            left -= min(BLOCK, left)
            continue
        left -= len(block)
        yield block


def file_upload(path: Path, info: AudioInfo) -> Upload:
    """The recording as it is (its format is one the service takes)."""
    file = HashingFile(path)
    size = file.opened.size
    return Upload(
        path.name,
        _CONTENT_TYPES.get(info.container, "application/octet-stream"),
        size,
        lambda: _exactly(file, size),
        file.receipt,
        file.close,
    )


def pcm_upload(pcm: PcmRange, name: str) -> Upload:
    """One range of a read track, as a mono 16 kHz WAV."""
    reader = RangeReader(pcm)
    header = wav_header(pcm.length)
    return Upload(
        f"{Path(name).stem}.wav",
        "audio/wav",
        WAV_HEADER_BYTES + pcm.length,
        lambda: _exactly(reader, WAV_HEADER_BYTES + pcm.length, header),
        reader.finish,
        reader.close,
    )


def converted_upload(path: Path, *, channel: int | None, spool_dir: Path, cancel: Any) -> Upload:
    """The recording decoded once to a mono 16 kHz WAV spool (removed by ``close``)."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    spool = spool_dir / f"fast-{uuid.uuid4().hex}.wav.tmp"
    reader = open_pcm(path, channel=channel)
    try:
        with spool.open("wb") as out:
            out.write(bytes(WAV_HEADER_BYTES))
            while block := reader.read(BLOCK):
                if cancel.is_cancelled():
                    raise FileCancelled(cancel.reason or "cancelled")
                out.write(block)
            data = out.tell() - WAV_HEADER_BYTES
            out.seek(0)
            out.write(wav_header(data))
        warnings = tuple(getattr(reader, "warnings", ()) or ())
        receipt = reader.finish()
    except BaseException:
        reader.close()
        with contextlib.suppress(OSError):
            spool.unlink()
        raise
    reader.close()
    file = spool.open("rb")

    def close() -> None:
        file.close()
        with contextlib.suppress(OSError):
            spool.unlink()

    size = WAV_HEADER_BYTES + data
    return Upload(
        f"{path.stem}.wav", "audio/wav", size, lambda: _exactly(file, size), lambda: receipt, close, warnings
    )


@dataclass
class Multipart:
    """A ``multipart/form-data`` body of known length, streamed block by block."""

    content_type: str
    length: int
    stream: Iterator[bytes]


def multipart(
    definition: dict[str, Any],
    upload: Upload,
    *,
    on_sent: Callable[[int], None] = lambda _n: None,
    stop: threading.Event | None = None,
) -> Multipart:
    """``definition`` then ``audio``; ``on_sent(bytes of audio sent so far)`` as it goes; a set
    ``stop`` ends the upload (the request fails and is not answered)."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="definition"\r\n'
        f"Content-Type: application/json\r\n\r\n{json.dumps(definition)}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
        f'filename="{_quoted(upload.filename)}"\r\nContent-Type: {upload.content_type}\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def stream() -> Iterator[bytes]:
        yield head
        sent = 0
        for block in upload.blocks():
            if stop is not None and stop.is_set():
                raise OSError("upload stopped")
            yield block
            sent += len(block)
            on_sent(sent)
        yield tail

    return Multipart(
        f"multipart/form-data; boundary={boundary}", len(head) + upload.size + len(tail), stream()
    )


def _quoted(name: str) -> str:
    """A file name safe inside a quoted header parameter (the service does not need the name)."""
    safe = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)
    return os.fsencode(safe).decode("ascii", "replace").replace("\ufffd", "_") or "audio"
