"""Probe recordings and decode them, streaming, to 16 kHz mono 16-bit PCM (PyAV).

Placeholder interface: the decoding issue fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about a recording without decoding all of it."""

    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    container: str = ""
    passthrough: bool = False  # a PCM WAV the SDK reads by itself (16-bit mono 8/16 kHz)


def probe(path: Path) -> AudioInfo:
    raise NotImplementedError


class PcmReader:
    """Reads 16 kHz mono s16le PCM from a recording, decoding only as much as is asked for."""

    def read(self, size: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_pcm(path: Path, *, channel: int | None = None) -> PcmReader:
    raise NotImplementedError
