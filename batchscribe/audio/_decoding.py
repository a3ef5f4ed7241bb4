"""``open_pcm``/``PcmReader``: lazy decoding to 16 kHz mono s16le, one packet at a time.

``open_pcm`` hands a WAV that already is 16 kHz mono s16le to ``RawWavReader`` instead (``_raw``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av.error
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.filter import Graph
from av.packet import Packet

from batchscribe.audio._failures import MAPPED, fail, reason, to_audio_error
from batchscribe.audio._files import FileIdentity, HashingFile, ReadReceipt
from batchscribe.audio._probing import (
    AudioInfo,
    describe,
    first_audio_stream,
    open_container,
    read_wav_layout,
)
from batchscribe.audio._raw import BYTES_PER_SECOND, SAMPLE_RATE, RawWavReader
from batchscribe.audio._reader import ReaderBookkeeping

_DURATION_SLACK_S = 0.5  # a decode this much short of the header's duration counts as cut off
_DURATION_SLACK_RATIO = 0.02  # ...and this share of it (bitrate-based estimates are rough)
_MAX_BAD_PACKETS_IN_A_ROW = 50  # FFmpeg skips damaged packets too, but a long run means garbage


class _MonoConverter:
    """Turns decoded frames into 16 kHz mono s16 frames.

    The same filter graph ``av.AudioResampler`` builds (abuffer -> aformat -> sink, FFmpeg adding
    the resampler), plus a ``pan`` filter when one channel is kept or when a 3+ channel layout
    has no named channels to mix by. Unlike AudioResampler it rebuilds itself when the input
    format changes mid-stream (joined MP3s, AAC switching rate) instead of refusing the frame.
    """

    def __init__(self, channel: int | None) -> None:
        self._channel = channel
        self._graph: Graph | None = None
        self._input_key: tuple[str, str, int] = ("", "", 0)

    def convert(self, frame: AudioFrame) -> list[AudioFrame]:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        converted: list[AudioFrame] = []
        if self._graph is not None and key != self._input_key:
            converted += self.flush()
        if self._graph is None:
            self._graph, self._input_key = self._build(frame), key
        self._graph.push(frame)
        return converted + self._drain(self._graph)

    def flush(self) -> list[AudioFrame]:
        if self._graph is None:
            return []
        graph, self._graph = self._graph, None
        graph.push(None)
        return self._drain(graph)

    def _build(self, frame: AudioFrame) -> Graph:
        graph = Graph()
        nodes = [
            graph.add_abuffer(
                sample_rate=frame.sample_rate,
                format=frame.format,
                layout=frame.layout,
                time_base=frame.time_base or Fraction(1, frame.sample_rate),
            )
        ]
        channels = frame.layout.nb_channels
        if self._channel is not None:
            nodes.append(graph.add("pan", f"mono|c0=c{self._channel}"))
        elif channels > 2 and frame.layout.name == f"{channels} channels":
            weight = 1 / channels
            mix = "+".join(f"{weight:.6f}*c{i}" for i in range(channels))
            nodes.append(graph.add("pan", f"mono|c0={mix}"))
        nodes.append(
            graph.add("aformat", sample_fmts="s16", sample_rates=str(SAMPLE_RATE), channel_layouts="mono")
        )
        nodes.append(graph.add("abuffersink"))
        graph.link_nodes(*nodes).configure()
        return graph

    @staticmethod
    def _drain(graph: Graph) -> list[AudioFrame]:
        frames: list[AudioFrame] = []
        while True:
            try:
                frame = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return frames
            if isinstance(frame, AudioFrame):
                frames.append(frame)


class PcmReader(ReaderBookkeeping):
    """Reads 16 kHz mono s16le PCM from a recording, decoding only as much as is asked for.

    ``warnings`` collects what went wrong without stopping the decode (a cut-off file, skipped
    damaged packets); ``seconds_read`` is the audio handed out so far. ``read`` and ``close`` may
    come from different threads (the SDK reads on its own thread while a watchdog closes): a lock
    keeps FFmpeg from freeing the file mid-decode, and a read after (or racing) ``close`` raises
    ``ValueError`` as files do. ``open_pcm`` builds it; it is a context manager.
    """

    def __init__(
        self,
        container: InputContainer,
        stream: AudioStream,
        info: AudioInfo,
        channel: int | None,
        file: HashingFile,
    ) -> None:
        super().__init__()
        self.info = info
        self.channel = channel
        self.warnings: list[str] = []
        self._container = container
        self._file = file
        self._stream = stream
        self._packets: Iterator[Packet[AudioStream]] = container.demux(stream)
        self._converter = _MonoConverter(channel)
        self._buffer = bytearray()
        self._bytes_decoded = 0
        self._bytes_read = 0
        self._peak_buffered = 0
        self._bad_packets = 0
        self._bad_in_a_row = 0
        self._at_end = False
        self._close_requested = False  # set without the lock, so a busy reader cannot starve close

    @property
    def seconds_read(self) -> float:
        return self._bytes_read / BYTES_PER_SECOND

    @property
    def seconds_decoded(self) -> float:
        """Audio decoded so far: ``seconds_read`` plus what waits in the buffer."""
        return self._bytes_decoded / BYTES_PER_SECOND

    @property
    def peak_buffered_bytes(self) -> int:
        """The most decoded PCM held at once so far: ``read``'s size plus under one packet."""
        return self._peak_buffered

    @property
    def opened(self) -> FileIdentity:
        """The file that was opened, as it was then."""
        return self._file.opened

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of PCM; ``b""`` at the end of the recording."""
        if size < 0:
            raise ValueError("size must be zero or more")
        with self._lock:
            if self._closed or self._close_requested:
                raise ValueError("read from a closed PcmReader")
            while len(self._buffer) < size and not self._at_end and not self._close_requested:
                self._decode_next_packet()
            with memoryview(self._buffer) as view:  # one copy, and released before the resize
                chunk = bytes(view[:size])
            del self._buffer[:size]
            self._bytes_read += len(chunk)
            return chunk

    def readinto(self, buffer: memoryview) -> int:
        """``read`` into ``buffer`` (the SDK's); the number of bytes written."""
        chunk = self.read(buffer.nbytes)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        """Release the file. A read running in another thread stops at its next packet."""
        self._close_requested = True
        super().close()

    def finish(self) -> ReadReceipt | None:
        self._close_requested = True
        receipt = super().finish()
        if receipt is None:
            return None
        decoded = self._bytes_decoded / BYTES_PER_SECOND if self._at_end else None
        return replace(receipt, decoded_s=decoded)

    def _receipt(self) -> ReadReceipt:
        return self._file.receipt()

    def _release(self) -> None:
        self._buffer = bytearray()
        with contextlib.suppress(*MAPPED):  # a failing close of a read-only file is harmless
            self._container.close()
        self._file.close()

    def _fill_first_bytes(self, path: Path) -> None:
        """Decode up to the first audio so a file with none fails at open, not mid-session."""
        try:
            while not self._buffer and not self._at_end:
                self._decode_next_packet()
        except MAPPED as exc:
            raise to_audio_error(exc, path) from exc
        if self._bytes_decoded == 0:
            damaged = " (every audio packet was damaged)" if self._bad_packets else ""
            raise fail(
                "truncated", f"no audio could be decoded from it{damaged}: it is cut off or holds no samples"
            )

    def _decode_next_packet(self) -> None:
        try:
            packet = next(self._packets)
        except StopIteration:
            self._finish()
            return
        except MAPPED as exc:
            self._stop_early(f"the file cannot be read further ({reason(exc)})")
            return
        try:
            frames = self._stream.codec_context.decode(packet)
        except av.error.EOFError:
            frames = []  # the decoder was already drained
        except MAPPED as exc:
            self._bad_packets += 1
            self._bad_in_a_row += 1
            if self._bad_in_a_row >= _MAX_BAD_PACKETS_IN_A_ROW:
                self._stop_early(f"{self._bad_in_a_row} damaged packets in a row ({reason(exc)})")
            return
        self._bad_in_a_row = 0
        try:
            for frame in frames:
                if frame.samples:
                    self._append(self._converter.convert(frame))
        except MAPPED as exc:
            self._stop_early(f"the audio format changed and could not be converted ({reason(exc)})")

    def _append(self, frames: list[AudioFrame]) -> None:
        for frame in frames:
            pcm = memoryview(frame.planes[0])[: frame.samples * 2]  # planes carry padding
            self._buffer += pcm
            self._bytes_decoded += len(pcm)
        self._peak_buffered = max(self._peak_buffered, len(self._buffer))

    def _flush_converter(self) -> None:
        with contextlib.suppress(*MAPPED):  # at worst the resampler's last milliseconds are lost
            self._append(self._converter.flush())

    def _finish(self) -> None:
        self._at_end = True
        self._flush_converter()
        decoded_s = self._bytes_decoded / BYTES_PER_SECOND
        declared_s = self.info.duration_s
        if declared_s - decoded_s > max(_DURATION_SLACK_S, declared_s * _DURATION_SLACK_RATIO):
            why = "part of the file is damaged" if self._bad_packets else "the file looks truncated"
            self.warnings.append(
                f"decoding stopped early at {decoded_s:.1f} s of the {declared_s:.1f} s the "
                f"file's header announces: {why}"
            )
        elif decoded_s - declared_s > max(_DURATION_SLACK_S, declared_s * _DURATION_SLACK_RATIO):
            self.warnings.append(
                f"{decoded_s:.1f} s of audio decoded, more than the {declared_s:.1f} s the file's header "
                "announces (recordings joined into one file?): durations and cost use what was decoded"
            )
        if self._bad_packets:
            self.warnings.append(f"skipped {self._bad_packets} damaged audio packet(s)")

    def _stop_early(self, reason: str) -> None:
        self._at_end = True
        self._flush_converter()
        self.warnings.append(
            f"decoding stopped early at {self._bytes_decoded / BYTES_PER_SECOND:.1f} s: {reason}"
        )


def open_pcm(path: Path, *, channel: int | None = None) -> PcmReader | RawWavReader:
    """Open ``path`` for streaming decode to 16 kHz mono s16le.

    ``channel=None`` mixes every channel down; ``channel=k`` keeps only channel ``k`` (from 0).
    A WAV that already is 16 kHz mono s16le is read as it is (``RawWavReader``: no FFmpeg).
    Raises ``AudioError`` now for anything that stops the file from decoding at all.
    """
    file = HashingFile(path)
    try:
        layout = read_wav_layout(file)
        if (
            layout is not None
            and layout.plain_pcm16
            and channel in (None, 0)
            and layout.fmt.channels == 1
            and layout.fmt.sample_rate == SAMPLE_RATE
        ):
            return RawWavReader(file, layout, channel)
        file.seek(0)
        return _open_decoder(path, file, channel)
    except BaseException:
        file.close()
        raise


def _open_decoder(path: Path, file: HashingFile, channel: int | None) -> PcmReader:
    container = open_container(path, file)
    try:
        try:
            stream = first_audio_stream(container)
            info = describe(path, container, stream)
        except MAPPED as exc:
            raise to_audio_error(exc, path) from exc
        if channel is not None and not 0 <= channel < info.channels:
            plural = "s" if info.channels != 1 else ""
            raise fail(
                "bad_channel",
                f"channel {channel} was asked for but the recording has "
                f"{info.channels} channel{plural} (numbered from 0)",
            )
        reader = PcmReader(container, stream, info, channel, file)
        reader._fill_first_bytes(path)
    except BaseException:
        container.close()
        raise
    return reader
