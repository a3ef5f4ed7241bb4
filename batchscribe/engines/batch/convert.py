"""Recordings batch transcription cannot read as they are, converted once to a WAV it can.

The service reads WAV, MP3, OGG/Opus, FLAC, WMA, AAC/M4A, AMR, WebM and Speex (Microsoft's
"supported audio formats" for batch transcription); anything else batchscribe decodes (the audio
track of an MP4/MOV/MKV video, AIFF, ...) is decoded once, as every engine reads audio
(``audio.open_pcm``: 16 kHz mono 16-bit), into a temporary WAV that is uploaded and deleted. Its
upload is named by the source's content hash, so the same recording is never converted twice.
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batchscribe.audio import SAMPLE_RATE, open_pcm

SERVICE_READS = frozenset({
    ".wav", ".mp3", ".ogg", ".opus", ".flac", ".wma", ".aac", ".m4a", ".amr", ".webm", ".spx",
})  # fmt: skip
BLOCK = 1 << 20


def needs_conversion(path: Path) -> bool:
    return path.suffix.lower() not in SERVICE_READS


@contextmanager
def converted(path: Path) -> Iterator[Path]:
    """A temporary 16 kHz mono WAV of ``path``, deleted afterwards. Raises ``AudioError``."""
    with tempfile.TemporaryDirectory(prefix="batchscribe-convert-") as folder:
        target = Path(folder) / "converted.wav"
        with open_pcm(path) as reader, wave.open(str(target), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            while block := reader.read(BLOCK):
                out.writeframes(block)
        yield target
