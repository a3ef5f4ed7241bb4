"""Probe recordings and decode them, streaming, to 16 kHz mono 16-bit PCM (PyAV).

This package owns everything between a path on disk and the PCM bytes an engine sends:

- ``probe(path) -> AudioInfo``: codec, sample rate, channels and duration from the container's
  metadata (a few milliseconds, no full decode; a 16-bit PCM WAV from its header alone, without
  FFmpeg), and whether the Speech SDK can read the file by itself (``passthrough``: a plain
  16-bit PCM mono WAV at 8 or 16 kHz).
- ``open_pcm(path, channel=None) -> PcmReader``: a lazy decoder. ``read(n)`` decodes only as
  many packets as it needs for ``n`` bytes of 16 kHz mono s16le, so memory stays flat however long
  the recording is and decoding runs exactly as fast as the consumer reads. ``channel=None`` mixes
  all channels down; ``channel=k`` keeps only channel ``k`` (0 = left: agent/customer stereo).
  A WAV that is already 16 kHz mono s16le is read as it is (``RawWavReader``, no FFmpeg).
  ``finish()`` returns a ``ReadReceipt``: the SHA-256 of the bytes read (hashed as they were
  read, one read of the file) and whether the file stayed the same while it was read.
- ``read_track``/``RangeReader``: read a track once (decoding into a spool file unless it is a
  plain 16 kHz mono WAV), then any sample range of it, for recordings split into chunks.
- Only regular files are ever opened, never blocking (``open_regular``; ``sha256_of`` too).

Every failure is an ``AudioError`` with a stable ``code`` (see ``ERROR_HINTS``); PyAV/FFmpeg
exceptions are translated in ``_failures.to_audio_error`` and nowhere else. A file that is cut
off but decodes in part is not an error: the reader decodes what there is and records a warning.
FFmpeg's own log output is switched off so nothing reaches the user's terminal.

Import the public names from here; the private modules are ``_probing`` (open, choose the audio
stream, describe), ``_decoding`` (the reader and its resampling graph), ``_raw`` (the reader of
WAVs that need no decoding), ``_ranges`` (a chunk's bytes), ``_reader`` (what the three readers
share: closing, finishing), ``_files`` (safe opening and hashing) and ``_failures``.
"""

from __future__ import annotations

import av.logging

from batchscribe.audio._decoding import PcmReader, open_pcm
from batchscribe.audio._failures import ERROR_HINTS
from batchscribe.audio._files import (
    FileIdentity,
    ReadReceipt,
    combine_receipts,
    open_regular,
    sha256_of,
)
from batchscribe.audio._probing import AudioInfo, probe
from batchscribe.audio._ranges import PcmRange, RangeReader, SpoolSpaceError, Track, read_track
from batchscribe.audio._raw import BYTES_PER_SECOND, SAMPLE_RATE, RawWavReader

__all__ = [
    "BYTES_PER_SECOND",
    "ERROR_HINTS",
    "SAMPLE_RATE",
    "AudioInfo",
    "FileIdentity",
    "PcmRange",
    "PcmReader",
    "RangeReader",
    "RawWavReader",
    "ReadReceipt",
    "SpoolSpaceError",
    "Track",
    "combine_receipts",
    "open_pcm",
    "open_regular",
    "probe",
    "read_track",
    "sha256_of",
]

# PyAV forwards FFmpeg's log to Python logging once any level is set, and Python's last-resort
# handler would then print it on the terminal; None routes it to PyAV's no-op callback.
av.logging.set_level(None)
