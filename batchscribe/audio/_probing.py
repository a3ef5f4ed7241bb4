"""``probe``: what a recording is, from its container's metadata, in a few milliseconds."""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import av
import av.stream
from av.audio.codeccontext import AudioCodecContext
from av.audio.stream import AudioStream
from av.container import InputContainer

from batchscribe.audio._failures import MAPPED, NOT_A_FILE_HINT, fail, to_audio_error

_SDK_NATIVE_RATES = (8000, 16000)
# Elementary streams with no container: FFmpeg guesses their duration from the bitrate of the
# first frames (an ADTS AAC of 3.0 s of speech was guessed at 2.5 s), so their packets are counted.
_RAW_STREAM_FORMATS = frozenset({"aac", "ac3", "eac3", "amr", "amrnb", "amrwb"})


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about a recording without decoding all of it."""

    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    container: str = ""  # FFmpeg's demuxer name, e.g. "wav", "mov,mp4,m4a,3gp,3g2,mj2"
    passthrough: bool = False  # a PCM WAV the SDK reads by itself (16-bit mono 8/16 kHz)


def open_container(path: Path) -> InputContainer:
    """Open ``path`` for reading, checking first what FFmpeg would report vaguely or block on."""
    try:
        info = path.stat()
    except OSError as exc:
        if isinstance(exc, NotADirectoryError):
            gone = "the file no longer exists (a folder on its path is gone)"
            raise fail("vanished", gone) from exc
        raise to_audio_error(exc, path) from exc
    if stat.S_ISDIR(info.st_mode):
        raise fail("unreadable", "the path is a directory, not a recording", NOT_A_FILE_HINT)
    if not stat.S_ISREG(info.st_mode):  # opening a fifo would block until someone writes to it
        raise fail("unreadable", "not a regular file (a pipe, socket or device)", NOT_A_FILE_HINT)
    if info.st_size == 0:
        raise fail("empty_file", "the file is empty (0 bytes)")
    try:
        # An absolute path is never parsed as an FFmpeg protocol ("concat:", "http:"), and the
        # whitelist stops playlists inside the folder from reaching out to the network.
        return av.open(path.absolute(), container_options={"protocol_whitelist": "file"},
                       metadata_errors="replace")
    except MAPPED as exc:
        raise to_audio_error(exc, path) from exc


def first_audio_stream(container: InputContainer) -> AudioStream:
    # Cover art is a video stream (attached picture), so it is never chosen here.
    if not container.streams.audio:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
        raise fail("no_audio_stream", f"the file has no audio track (streams: {kinds})")
    stream = container.streams.audio[0]
    for other in container.streams:
        if other.index != stream.index:
            other.discard = av.stream.Discard.all  # let the demuxer skip video without reading it
    return stream


def describe(path: Path, container: InputContainer, stream: AudioStream) -> AudioInfo:
    # None when FFmpeg has no decoder for the stream's codec (the stubs do not say so)
    ctx: AudioCodecContext | None = stream.codec_context
    if ctx is None:
        fmt = _read_wav_format(path) if container.format.name == "wav" else None
        which = f" (WAV format tag 0x{fmt.tag:04X})" if fmt else ""
        raise fail("unsupported_codec", f"its audio codec{which} has no decoder in FFmpeg")
    if ctx.sample_rate <= 0 or ctx.channels <= 0:
        raise fail("truncated", "its audio stream header is damaged (no rate or channel count)")
    duration = None
    if container.format.name not in _RAW_STREAM_FORMATS:
        duration = _declared_duration(container, stream)
    if duration is None:
        duration = _counted_duration(path)
    return AudioInfo(
        codec=ctx.codec.canonical_name,
        sample_rate=ctx.sample_rate,
        channels=ctx.channels,
        duration_s=duration,
        container=container.format.name,
        passthrough=container.format.name == "wav" and _is_sdk_native_wav(path),
    )


def _declared_duration(container: InputContainer, stream: AudioStream) -> float | None:
    """The duration the container states (or FFmpeg estimates from the bitrate), in seconds."""
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _counted_duration(path: Path) -> float:
    """Fallback for streams with no stated duration (raw streams, WebM from browser recorders,
    WAVs without samples): sum the packets' durations, decoding only packets that carry none.
    This reads the whole file (but decodes next to nothing), so it is kept for those cases."""
    total = 0.0
    with open_container(path) as container:
        stream = first_audio_stream(container)
        try:
            for packet in container.demux(stream):
                if packet.duration and packet.time_base:
                    total += float(packet.duration * packet.time_base)
                else:
                    total += sum(f.samples / f.sample_rate
                                 for f in stream.codec_context.decode(packet))
        except MAPPED:
            pass  # damaged tail: what was counted so far is the best answer
    if total <= 0:
        raise fail("truncated", "no audio could be decoded: the file is cut off or holds no samples")
    return round(total, 3)


class _WavFormat(NamedTuple):
    tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits: int
    fmt_size: int


def _read_wav_format(path: Path) -> _WavFormat | None:
    """The fmt chunk of a RIFF/WAVE file, read here because FFmpeg reports WAVE_FORMAT_EXTENSIBLE
    PCM as plain pcm_s16le and hides the tag of codecs it does not know."""
    try:
        with path.open("rb") as f:
            riff = f.read(12)
            if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
                return None
            for _ in range(16):  # fmt is first in practice; a few JUNK/bext chunks may precede it
                header = f.read(8)
                if len(header) < 8:
                    return None
                chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
                if chunk_id == b"fmt ":
                    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", f.read(16))
                    return _WavFormat(tag, channels, rate, block_align, bits, size)
                f.seek(size + (size & 1), os.SEEK_CUR)
    except (OSError, struct.error):
        return None
    return None


def _is_sdk_native_wav(path: Path) -> bool:
    """RIFF/WAVE with a plain 16-byte PCM fmt chunk (tag 1), 16-bit mono at 8 or 16 kHz."""
    fmt = _read_wav_format(path)
    return fmt is not None and fmt == _WavFormat(
        tag=1, channels=1, sample_rate=fmt.sample_rate, block_align=2, bits=16, fmt_size=16
    ) and fmt.sample_rate in _SDK_NATIVE_RATES


def probe(path: Path) -> AudioInfo:
    """Describe ``path`` from its container metadata; raises ``AudioError`` if it cannot be read."""
    with open_container(path) as container:
        try:
            return describe(path, container, first_audio_stream(container))
        except MAPPED as exc:
            raise to_audio_error(exc, path) from exc
