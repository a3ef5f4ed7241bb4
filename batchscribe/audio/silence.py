"""Where to cut a long recording into chunks: in pauses, found from the audio's energy, streaming.

Input is the decoder's output, 16 kHz mono s16le PCM, as an iterable of byte chunks of any size;
only frame levels are kept (one float per 10 ms frame, and only for the current search window),
never the audio, so memory is flat in the recording's length.

For each target point (``chunk_seconds`` after the previous cut) the finder waits until the audio
reaches ``target + window``, then looks at the frames in ``[target - window, target + window]``:

- a frame is *quiet* when its level is well below the recording's speech level: below
  ``min(max(floor + 6 dB, speech - 30 dB), speech - 10 dB)``, where *speech* is the 95th and
  *floor* the 10th percentile of the frame levels heard so far (a histogram: constant memory),
  or below -75 dBFS whatever the recording (digital silence);
- a *pause* is a run of quiet frames at least ``min_silence_seconds`` (0.3 s) long; its level is
  that of its quietest 0.3 s stretch. Pauses within 3 dB of the quietest one in the window count
  as equally quiet (noise floors jitter by that much); of those, the one whose middle is nearest
  to the target wins, and the cut goes at its middle, as far from speech on both sides as it can;
- with no pause in the window the cut goes at the middle of the quietest 100 ms, and the cut
  carries a warning for the file's warnings.

When the audio ends before ``target + window``, the rest is the last chunk (at most
``chunk_seconds + window`` long); ``max_cuts`` (a plan's ``chunks - 1``) stops cutting early, so
a run of early cuts never leaves a stub of a last chunk. ``find_cuts`` runs the whole stream;
``CutFinder`` is the incremental form (``feed`` returns cuts as soon as they are decided, so
chunks can start while decoding goes on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 160  # 10 ms
FRAMES_PER_SECOND = SAMPLE_RATE // FRAME_SAMPLES
MIN_SILENCE_SECONDS = 0.3
QUIETEST_POINT_SECONDS = 0.1
EQUALLY_QUIET_DB = 3.0
DIGITAL_SILENCE_DB = -75.0
_HIST_LOW_DB, _HIST_HIGH_DB, _HIST_STEP_DB = -130.0, 10.0, 0.5

Levels = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Cut:
    """A cut point: the next chunk starts at ``sample`` (16 kHz samples from the file's start)."""

    sample: int
    pause_seconds: float  # length of the pause cut in (clipped to the window); 0 when none found
    level_db: float  # level at the cut relative to the speech level (negative: quieter)
    warning: str = ""  # set when no pause was found and the cut went at the quietest point

    @property
    def seconds(self) -> float:
        return self.sample / SAMPLE_RATE


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def frame_levels(pcm: bytes | memoryview) -> Levels:
    """dBFS level of each whole 10 ms frame of 16 kHz mono s16le ``pcm``."""
    frames = len(pcm) // (2 * FRAME_SAMPLES)
    # One float32 copy squared in place (not three float64 ones): a 1 MiB block costs 2 MB here.
    samples = np.frombuffer(pcm, dtype="<i2", count=frames * FRAME_SAMPLES).astype(np.float32)
    np.square(samples, out=samples)
    power = samples.reshape(frames, FRAME_SAMPLES).mean(axis=1, dtype=np.float64) / 32768.0**2
    levels: Levels = 10.0 * np.log10(power + 1e-12)
    return levels


class _LevelHistogram:
    """Percentiles of every frame level heard, in constant memory (0.5 dB bins)."""

    def __init__(self) -> None:
        bins = int((_HIST_HIGH_DB - _HIST_LOW_DB) / _HIST_STEP_DB)
        self._counts = np.zeros(bins, dtype=np.int64)

    def add(self, levels: Levels) -> None:
        index = ((levels - _HIST_LOW_DB) / _HIST_STEP_DB).astype(np.int64)
        np.add.at(self._counts, np.clip(index, 0, self._counts.size - 1), 1)

    def percentile(self, fraction: float) -> float:
        total = int(self._counts.sum())
        if total == 0:
            return _HIST_LOW_DB
        index = int(np.searchsorted(np.cumsum(self._counts), fraction * total))
        return _HIST_LOW_DB + (index + 0.5) * _HIST_STEP_DB


def _sliding_mean_db(levels: Levels, width: int) -> Levels:
    """Level (dB) of the mean power of each run of ``width`` frames starting at each index."""
    power = np.concatenate(([0.0], np.cumsum(np.power(10.0, levels / 10.0))))
    mean = (power[width:] - power[:-width]) / width
    return 10.0 * np.log10(np.maximum(mean, 1e-12))


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class CutFinder:
    """Incremental cut finder: ``feed`` PCM as it is decoded, then ``finish``."""

    def __init__(
        self,
        chunk_seconds: float,
        *,
        window_seconds: float | None = None,
        min_silence_seconds: float = MIN_SILENCE_SECONDS,
        max_cuts: int | None = None,
    ) -> None:
        window = chunk_seconds / 10 if window_seconds is None else window_seconds
        if chunk_seconds < 1 or not 0 < window <= chunk_seconds / 2:
            raise ValueError(
                f"chunks of {chunk_seconds} s with a search window of ±{window} s: a chunk must be "
                "at least 1 s and the window above 0 and at most half a chunk"
            )
        self._chunk = round(chunk_seconds * FRAMES_PER_SECOND)
        self._window = max(1, round(window * FRAMES_PER_SECOND))
        self._min_run = max(1, round(min_silence_seconds * FRAMES_PER_SECOND))
        self._point = max(1, round(QUIETEST_POINT_SECONDS * FRAMES_PER_SECOND))
        self._histogram = _LevelHistogram()
        self._carry = b""
        self._frames = 0  # whole frames heard
        self._base = 0  # frame index of self._levels[0]
        self._levels: Levels = np.empty(0)
        self._last_cut = 0  # frame index
        self._max_cuts = max_cuts
        self.cuts: list[Cut] = []

    @property
    def _done(self) -> bool:
        return self._max_cuts is not None and len(self.cuts) >= self._max_cuts

    @property
    def _target(self) -> int:
        return self._last_cut + self._chunk

    def feed(self, pcm: bytes) -> list[Cut]:
        """Take the next bytes; returns the cuts decided by them (usually none).

        Each decision sees exactly the frames up to its window's end, whatever the feeding, so
        the cuts do not depend on how the stream is chunked.
        """
        data = self._carry + pcm if self._carry else pcm
        usable = len(data) - len(data) % (2 * FRAME_SAMPLES)
        self._carry = bytes(data[usable:])
        with memoryview(data) as view:
            levels = frame_levels(view[:usable])
        decided: list[Cut] = []
        taken = 0
        while True:
            if not self._done and self._frames >= self._target + self._window:
                cut = self._decide()
                decided.append(cut)
                self.cuts.append(cut)
                self._last_cut = cut.sample // FRAME_SAMPLES
                drop = max(0, self._target - self._window - self._base)
                self._levels, self._base = self._levels[drop:], self._base + drop
                continue
            if taken >= levels.size:
                return decided
            upto = levels.size
            if not self._done:
                upto = min(upto, taken + self._target + self._window - self._frames)
            self._take(levels[taken:upto])
            taken = upto

    def _take(self, levels: Levels) -> None:
        """Count frames in the level histogram; keep those from the next window's start."""
        self._histogram.add(levels)
        keep_from = self._target - self._window
        start = self._frames
        self._frames += levels.size
        if self._frames <= keep_from or self._done:
            return  # before the next window: only the histogram needed them
        skip = max(0, keep_from - start)
        if not self._levels.size:
            self._base = start + skip
        self._levels = np.concatenate((self._levels, levels[skip:]))

    def finish(self) -> list[Cut]:
        """The end of the audio: the rest after the last cut is the last chunk. All cuts made."""
        return list(self.cuts)

    def _decide(self) -> Cut:
        target = self._target
        low = target - self._window
        window = self._levels[low - self._base : target + self._window - self._base]
        speech = self._histogram.percentile(0.95)
        floor = self._histogram.percentile(0.10)
        threshold = max(min(max(floor + 6, speech - 30), speech - 10), DIGITAL_SILENCE_DB)
        stretch = _sliding_mean_db(window, self._min_run)
        pauses = [(a, b, float(stretch[a : b - self._min_run + 1].min()))
                  for a, b in _runs(window < threshold) if b - a >= self._min_run]  # fmt: skip
        if pauses:
            quietest = min(level for _, _, level in pauses)
            calm = [p for p in pauses if p[2] <= quietest + EQUALLY_QUIET_DB]
            a, b, level = min(calm, key=lambda p: (abs(low + (p[0] + p[1]) // 2 - target), p[0]))
            frame = low + (a + b) // 2
            return Cut(frame * FRAME_SAMPLES, (b - a) / FRAMES_PER_SECOND, level - speech)
        points = _sliding_mean_db(window, self._point)
        best = float(points.min())
        candidates = np.flatnonzero(points <= best + 1e-9)
        start = int(min(candidates, key=lambda i: (abs(low + int(i) + self._point // 2 - target), int(i))))
        frame = low + start + self._point // 2
        seconds = frame / FRAMES_PER_SECOND
        warning = (
            f"no pause of {MIN_SILENCE_SECONDS:.1f} s within {self._window / FRAMES_PER_SECOND:.0f} s of "
            f"{_clock(target / FRAMES_PER_SECOND)}: cut at {_clock(seconds)}, the quietest point "
            f"({speech - best:.0f} dB below speech), which may split a word"
        )
        return Cut(frame * FRAME_SAMPLES, 0.0, best - speech, warning)


def find_cuts(
    pcm: Iterable[bytes],
    chunk_seconds: float,
    *,
    window_seconds: float | None = None,
    min_silence_seconds: float = MIN_SILENCE_SECONDS,
    max_cuts: int | None = None,
) -> list[Cut]:
    """Every cut of a whole stream (see the module docstring); the stream is read once."""
    finder = CutFinder(
        chunk_seconds,
        window_seconds=window_seconds,
        min_silence_seconds=min_silence_seconds,
        max_cuts=max_cuts,
    )
    for data in pcm:
        finder.feed(data)
    return finder.finish()
