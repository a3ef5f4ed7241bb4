"""``probe``: what a recording is, from its container's metadata, in a few milliseconds."""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import av
import av.stream
from av.audio.codeccontext import AudioCodecContext
from av.audio.stream import AudioStream
from av.container import InputContainer

from batchscribe.audio._failures import MAPPED, fail, to_audio_error
from batchscribe.audio._files import open_regular
from batchscribe.errors import AudioError

_SDK_NATIVE_RATES = (8000, 16000)
# Elementary streams with no container: FFmpeg guesses their duration from the bitrate of the
# first frames (an ADTS AAC of 3.0 s of speech was guessed at 2.5 s), so their packets are counted.
_RAW_STREAM_FORMATS = frozenset({"aac", "ac3", "eac3", "amr", "amrnb", "amrwb"})
_MAX_HEADER_CHUNK = 1 << 20  # a chunk before the samples bigger than this: let FFmpeg seek past it


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about a recording without decoding all of it."""

    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    container: str = ""  # FFmpeg's demuxer name, e.g. "wav", "mov,mp4,m4a,3gp,3g2,mj2"
    passthrough: bool = False  # a PCM WAV the SDK reads by itself (16-bit mono 8/16 kHz)


def open_container(path: Path, file: io.RawIOBase | None = None) -> InputContainer:
    """Open ``path`` (or ``file``, already opened on it by ``open_regular``) with FFmpeg.

    FFmpeg reads through the Python file object, so it never opens the path itself: only a
    regular file is ever read, and a decoder's ``HashingFile`` sees every byte FFmpeg reads.
    """
    own = file is None
    if file is None:
        file, st = open_regular(path)
        size = st.st_size
    else:
        size = os.fstat(file.fileno()).st_size
    try:
        if size == 0:
            raise fail("empty_file", "the file is empty (0 bytes)")
        # The whitelist stops playlists inside the folder from reaching out to the network.
        return av.open(file, "r", container_options={"protocol_whitelist": "file"}, metadata_errors="replace")
    except BaseException as exc:
        if own:
            file.close()
        if isinstance(exc, MAPPED):
            raise to_audio_error(exc, path) from exc
        raise


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
    file, _ = open_regular(path)
    with file, open_container(path, file) as container:
        stream = first_audio_stream(container)
        try:
            for packet in container.demux(stream):
                if packet.duration and packet.time_base:
                    total += float(packet.duration * packet.time_base)
                else:
                    total += sum(f.samples / f.sample_rate for f in stream.codec_context.decode(packet))
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


class WavLayout(NamedTuple):
    """A RIFF/WAVE file's fmt chunk and where its samples are, from its header alone."""

    fmt: _WavFormat
    data_offset: int
    data_bytes: int  # what FFmpeg would decode: the data chunk, cut to the file's end

    @property
    def plain_pcm16(self) -> bool:
        """Integer 16-bit PCM with the plain tag: durations and bytes follow from the header."""
        f = self.fmt
        return (
            f.tag == 1
            and f.bits == 16
            and f.channels >= 1
            and f.block_align == 2 * f.channels
            and f.sample_rate > 0
        )

    @property
    def sdk_native(self) -> bool:
        """RIFF/WAVE with a plain 16-byte PCM fmt chunk (tag 1), 16-bit mono at 8 or 16 kHz."""
        f = self.fmt
        return (
            f == _WavFormat(tag=1, channels=1, sample_rate=f.sample_rate, block_align=2, bits=16, fmt_size=16)
            and f.sample_rate in _SDK_NATIVE_RATES
        )

    def info(self) -> AudioInfo:
        frames = -(-self.data_bytes // self.fmt.block_align)  # FFmpeg counts a partial frame
        return AudioInfo(
            codec="pcm_s16le",
            sample_rate=self.fmt.sample_rate,
            channels=self.fmt.channels,
            duration_s=frames / self.fmt.sample_rate,
            container="wav",
            passthrough=self.sdk_native,
        )


def read_wav_layout(file: io.RawIOBase) -> WavLayout | None:
    """Parse a WAV header from ``file``'s start (reading forward only; chunks before the data
    are read, not skipped, so a ``HashingFile`` hashes them in order). None: not a WAV whose
    header says it all (FFmpeg then looks at it)."""
    try:
        size = os.fstat(file.fileno()).st_size
        riff = file.read(12) or b""
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        position, fmt = 12, None
        for _ in range(16):  # fmt is first in practice; a few JUNK/bext chunks may precede it
            header = file.read(8) or b""
            if len(header) < 8:
                return None
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            position += 8
            if chunk_id == b"data":
                if fmt is None:
                    return None
                available = size - position
                declared = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
                return WavLayout(fmt, position, declared) if declared > 0 else None
            padded = chunk_size + (chunk_size & 1)
            if padded > _MAX_HEADER_CHUNK:
                return None
            body = file.read(padded) or b""
            position += len(body)
            if chunk_id == b"fmt " and len(body) >= 16:
                tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
                fmt = _WavFormat(tag, channels, rate, block_align, bits, chunk_size)
    except (OSError, struct.error):
        return None
    return None


def _read_wav_format(path: Path) -> _WavFormat | None:
    """The fmt chunk, read here because FFmpeg reports WAVE_FORMAT_EXTENSIBLE PCM as plain
    pcm_s16le and hides the tag of codecs it does not know."""
    try:
        file, _ = open_regular(path)
    except AudioError:
        return None
    with file:
        layout = read_wav_layout(file)
    return layout.fmt if layout else None


def _is_sdk_native_wav(path: Path) -> bool:
    """RIFF/WAVE with a plain 16-byte PCM fmt chunk (tag 1), 16-bit mono at 8 or 16 kHz."""
    try:
        file, _ = open_regular(path)
    except AudioError:
        return False
    with file:
        layout = read_wav_layout(file)
    return layout is not None and layout.sdk_native


def probe(path: Path) -> AudioInfo:
    """Describe ``path`` from its container metadata; raises ``AudioError`` if it cannot be read.

    A 16-bit PCM WAV is described from its header alone (no FFmpeg: ~100x cheaper)."""
    file, _ = open_regular(path)
    with file:
        layout = read_wav_layout(file)
        if layout is not None and layout.plain_pcm16:
            return layout.info()
        file.seek(0)
        with open_container(path, file) as container:
            try:
                return describe(path, container, first_audio_stream(container))
            except MAPPED as exc:
                raise to_audio_error(exc, path) from exc
