"""Recordings batch transcription cannot read as they are, converted once to a WAV it can.

The service reads WAV, MP3, OGG/Opus, FLAC, WMA, AAC/M4A, AMR, WebM and Speex (Microsoft's
"supported audio formats" for batch transcription); anything else batchscribe decodes (the audio
track of an MP4/MOV/MKV video, AIFF, ...) is decoded once, as every engine reads audio
(``audio.open_pcm``: 16 kHz 16-bit), into a temporary WAV that is uploaded and deleted: mixed
down to mono, or with ``keep_channels`` (``--channels separate``: the job asks for channels 0
and 1) its first two channels each decoded on its own and interleaved, so a stereo call stays
stereo. Either way it streams: a block of each channel at a time, memory flat in its length.
Its upload is named by the source's content hash (``BatchJobEngine.content_name``), so the same
recording is never converted twice.
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from batchscribe.audio import SAMPLE_RATE, AudioInfo, open_pcm, probe

SERVICE_READS = frozenset({
    ".wav", ".mp3", ".ogg", ".opus", ".flac", ".wma", ".aac", ".m4a", ".amr", ".webm", ".spx",
})  # fmt: skip
BLOCK = 1 << 20  # bytes of each channel decoded at a time
KEPT_CHANNELS = 2  # --channels separate asks the service for channels 0 and 1
WAV_HEADER = 44


def needs_conversion(path: Path) -> bool:
    return path.suffix.lower() not in SERVICE_READS


def sent_as_is(path: Path, audio: AudioInfo, *, channels_separate: bool) -> bool:
    """A format the service reads, and, without ``--channels separate``, one channel: the job
    asks for channel 0 only then, and the service would not hear the others (every engine mixes
    them down: so is such a recording, once)."""
    return not needs_conversion(path) and (channels_separate or audio.channels <= 1)


def upload_size(path: Path, size: int, audio: AudioInfo, *, channels_separate: bool) -> int:
    """The bytes a recording's upload holds: the file itself, or the WAV it is converted to."""
    if sent_as_is(path, audio, channels_separate=channels_separate):
        return size
    channels = min(audio.channels, KEPT_CHANNELS) if channels_separate else 1
    return WAV_HEADER + round(audio.duration_s * SAMPLE_RATE) * 2 * max(1, channels)


@contextmanager
def converted(path: Path, *, keep_channels: bool = False) -> Iterator[Path]:
    """A temporary 16 kHz WAV of ``path``, deleted afterwards: mono, or with ``keep_channels``
    as many channels as it has, up to ``KEPT_CHANNELS``. Raises ``AudioError``."""
    channels = min(probe(path).channels, KEPT_CHANNELS) if keep_channels else 1
    with tempfile.TemporaryDirectory(prefix="batchscribe-convert-") as folder:
        target = Path(folder) / "converted.wav"
        with ExitStack() as stack:
            if channels == 1:
                readers = [stack.enter_context(open_pcm(path))]
            else:
                readers = [stack.enter_context(open_pcm(path, channel=c)) for c in range(channels)]
            out = stack.enter_context(wave.open(str(target), "wb"))
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            while any(blocks := [reader.read(BLOCK) for reader in readers]):
                out.writeframes(blocks[0] if channels == 1 else _interleaved(blocks))
        yield target


def _interleaved(blocks: list[bytes]) -> bytes:
    """One block of each channel (16-bit) as interleaved frames; a shorter one padded with silence."""
    frames = max(len(b) for b in blocks) // 2
    out = np.zeros((frames, len(blocks)), dtype="<i2")
    for channel, block in enumerate(blocks):
        samples = np.frombuffer(block[: len(block) // 2 * 2], dtype="<i2")
        out[: samples.size, channel] = samples
    return out.tobytes()
