"""A simple energy detector that splits audio into speech segments, as the service's endpointer.

Audio is cut into short frames; a frame is *voiced* when its RMS level is above a fixed dBFS
threshold. A segment opens at the first voiced frame and closes after ``end_silence_ms`` of
unvoiced frames (it ends where the last voiced frame ended) or when it reaches
``max_segment_s``. The same detector runs live on each turn and offline in ``script add``, so the
phrases a script stores land on the segments the emulator later finds.

Positions are sample indices at the audio's own rate, counted from the first sample fed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SegmenterConfig:
    frame_ms: int = 20
    threshold_db: float = -40.0  # dBFS; tone and speech sit far above, digital silence far below
    end_silence_ms: int = 500
    max_segment_s: float = 15.0
    hypothesis_every_ms: int = 1000


@dataclass(frozen=True)
class SpeechStarted:
    at: int


@dataclass(frozen=True)
class SpeechContinues:
    """Speech is still going on at ``at``: time for a hypothesis."""

    start: int
    at: int


@dataclass(frozen=True)
class SegmentEnded:
    start: int
    end: int


Event = SpeechStarted | SpeechContinues | SegmentEnded


def to_mono_float(pcm: bytes, channels: int = 1) -> Samples:
    """16-bit little-endian PCM (interleaved) as mono float32 in [-1, 1)."""
    usable = len(pcm) - len(pcm) % (2 * channels)
    samples = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples


def level_db(samples: Samples) -> float:
    """RMS level in dBFS (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return 10.0 * float(np.log10(power + 1e-12))


class Segmenter:
    """Streaming detector: ``feed`` samples as they arrive, ``finish`` at the end of the audio."""

    def __init__(self, sample_rate: int, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self.sample_rate = sample_rate
        self._frame = max(1, sample_rate * self.config.frame_ms // 1000)
        self._end_silence = sample_rate * self.config.end_silence_ms // 1000
        self._max_segment = int(sample_rate * self.config.max_segment_s)
        self._hyp_every = max(1, sample_rate * self.config.hypothesis_every_ms // 1000)
        self._carry = np.empty(0, dtype=np.float32)  # always shorter than one frame
        self._pos = 0  # samples consumed into whole frames
        self._start: int | None = None  # open segment's start
        self._last_voiced = 0
        self._next_hyp = 0

    @property
    def position(self) -> int:
        """Samples received so far, including a partial frame."""
        return self._pos + self._carry.size

    @property
    def processed(self) -> int:
        """Samples already judged in whole frames (segments start and end on these)."""
        return self._pos

    @property
    def in_segment(self) -> bool:
        return self._start is not None

    @property
    def segment_start(self) -> int | None:
        """Where the open segment started, or None between segments."""
        return self._start

    def feed(self, samples: Samples) -> list[Event]:
        events: list[Event] = []
        data = np.concatenate((self._carry, samples)) if self._carry.size else samples
        whole = data.size - data.size % self._frame
        for offset in range(0, whole, self._frame):
            self._frame_done(data[offset : offset + self._frame], events)
        self._carry = data[whole:].copy()
        return events

    def finish(self) -> list[Event]:
        """Flush the partial frame and close an open segment at its last voiced frame."""
        events: list[Event] = []
        if self._carry.size:
            self._frame_done(self._carry, events)
            self._carry = np.empty(0, dtype=np.float32)
        if self._start is not None:
            events.append(SegmentEnded(self._start, self._last_voiced))
            self._start = None
        return events

    def _frame_done(self, frame: Samples, events: list[Event]) -> None:
        begin, end = self._pos, self._pos + frame.size
        self._pos = end
        if level_db(frame) > self.config.threshold_db:
            if self._start is None:
                self._start = begin
                self._next_hyp = begin + self._hyp_every
                events.append(SpeechStarted(begin))
            self._last_voiced = end
            if end - self._start >= self._max_segment:
                events.append(SegmentEnded(self._start, end))
                self._start = None
                return
        elif self._start is not None and end - self._last_voiced >= self._end_silence:
            events.append(SegmentEnded(self._start, self._last_voiced))
            self._start = None
            return
        if self._start is not None and end >= self._next_hyp:
            events.append(SpeechContinues(self._start, end))
            self._next_hyp += self._hyp_every


def find_segments(
    samples: Samples, sample_rate: int, config: SegmenterConfig | None = None
) -> list[tuple[float, float]]:
    """Every segment of a whole recording, in seconds."""
    segmenter = Segmenter(sample_rate, config)
    chunk = sample_rate  # feed as the live path does, a bit at a time
    events: list[Event] = []
    for offset in range(0, samples.size, chunk):
        events += segmenter.feed(samples[offset : offset + chunk])
    events += segmenter.finish()
    return [(e.start / sample_rate, e.end / sample_rate) for e in events if isinstance(e, SegmentEnded)]
