"""Recognize a recording by its sound, whatever its name, container or sample rate.

The fingerprint is a coarse energy envelope: the level of each 20 ms window over the first
``SECONDS`` of audio, relative to the loudest window (the same window in any copy), floored at
-45 dB. Relative levels barely change when a recording is resampled (8 kHz keeps less of a noise's
energy, but evenly), encoded to MP3/AAC and decoded, or sent by the SDK at its native rate. Two
envelopes are compared by their mean absolute difference in dB, allowing a shift of a few windows
for codec delay; the nearest stored one within ``TOLERANCE_DB`` wins
(``scripts.Transcripts.identify``). Measured on noise-burst and tone recordings: copies through
MP3, 8 kHz or a 45 ms delay stay within 0.5 dB; different recordings are told apart unless their
loudness changes all fall within ~30 ms of each other (then they are the same to this measure).

A script stores the envelope of its whole recording (``recording_envelope``: relative to the
whole recording's loudest window, floored lower, at ``STORED_FLOOR_DB``), so a session that sends only
a stretch of it (a chunk: ``run`` splits long recordings) is found too: ``find_inside`` ranks every
start by normalized cross-correlation (one FFT) and checks the best few as above, each stretch
made relative to its own loudest window first, as the session's live envelope is.

Stored form: ``e2:`` + base64 of one byte per window (relative level in -0.25 dB steps).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from batchscribe.emulator.segmenter import Samples

WINDOW_S = 0.02
SECONDS = 5.0  # the SDK sends its first 5 s at once: identified without waiting
WINDOWS = int(SECONDS / WINDOW_S)
FLOOR_DB = -45.0  # below the loud level: quieter than this is all the same silence
MAX_SHIFT = 3  # windows of misalignment tolerated (codec priming delay is ~25-50 ms)
TOLERANCE_DB = 0.9  # mean absolute difference accepted as "the same recording"
STEPS_PER_DB = 4
STORED_FLOOR_DB = -60.0  # a stored recording keeps quieter detail: a chunk's loud level may be lower
CANDIDATES = 8  # starts checked exactly after the cross-correlation ranked them

Envelope = npt.NDArray[np.float64]


class FingerprintBuilder:
    """Accumulates the envelope of a session's audio, fed by absolute sample position.

    Audio the SDK replays after a reconnect arrives again at positions already seen; only samples
    past the high-water mark are counted, so replays do not distort the envelope.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._window = max(1, round(sample_rate * WINDOW_S))
        self._power = np.zeros(WINDOWS, dtype=np.float64)
        self._count = np.zeros(WINDOWS, dtype=np.int64)
        self.high_water = 0  # absolute samples seen

    @property
    def complete(self) -> bool:
        return self.high_water >= WINDOWS * self._window

    @property
    def seconds(self) -> float:
        return self.high_water / self.sample_rate

    def feed(self, start: int, samples: Samples) -> None:
        skip = max(0, self.high_water - start)
        if skip >= samples.size or self.complete:
            self.high_water = max(self.high_water, start + samples.size)
            return
        pos, data = start + skip, samples[skip:]
        limit = WINDOWS * self._window
        data = data[: max(0, limit - pos)]
        index = (pos + np.arange(data.size)) // self._window
        np.add.at(self._power, index, np.square(data, dtype=np.float64))
        np.add.at(self._count, index, 1)
        self.high_water = max(self.high_water, start + samples.size)

    def envelope(self) -> Envelope:
        """Relative levels of the windows filled so far (a last one counts if half full)."""
        filled = int(np.sum(self._count >= self._window // 2))
        power = self._power[:filled] / np.maximum(self._count[:filled], 1)
        levels = 10.0 * np.log10(power + 1e-12)
        if levels.size == 0:
            return levels
        return relative(levels)


def relative(levels: Envelope, floor: float = FLOOR_DB) -> Envelope:
    """Levels relative to the loudest, floored. (Not a percentile: in a recording that is mostly
    silence a percentile is the silence, and the sound itself would rise above the scale.)"""
    if levels.size == 0:
        return levels
    return np.maximum(levels - np.max(levels), floor)


def _comparable(live: Envelope, stretch: Envelope) -> tuple[Envelope, Envelope]:
    """A live envelope and a stored stretch on one scale: each relative to its loudest window,
    both floored where the stored one's floor lies in that stretch (a stretch quieter than the
    whole recording has its stored floor nearer its own loud level)."""
    loudest = float(stretch.max()) if stretch.size else 0.0
    floor = max(FLOOR_DB, STORED_FLOOR_DB - loudest)
    return np.maximum(relative(live), floor), np.maximum(stretch - loudest, floor)


def recording_envelope(samples: Samples, sample_rate: int) -> Envelope:
    """Every 20 ms window of a whole recording (a last one if half full), as a script stores it."""
    window = max(1, round(sample_rate * WINDOW_S))
    whole, rest = divmod(samples.size, window)
    power = np.mean(np.square(samples[: whole * window], dtype=np.float64).reshape(whole, window), axis=1)
    if rest >= window // 2 and rest:
        power = np.append(power, np.mean(np.square(samples[whole * window :], dtype=np.float64)))
    return relative(10.0 * np.log10(power + 1e-12), STORED_FLOOR_DB)


def envelope_of(samples: Samples, sample_rate: int) -> Envelope:
    builder = FingerprintBuilder(sample_rate)
    builder.feed(0, samples)
    return builder.envelope()


def encode(envelope: Envelope) -> str:
    steps = np.clip(np.round(-envelope * STEPS_PER_DB), 0, 255).astype(np.uint8)
    return "e2:" + base64.b64encode(steps.tobytes()).decode("ascii")


def decode(text: str) -> Envelope:
    if not text.startswith("e2:"):
        raise ValueError(f"unknown fingerprint format {text[:10]!r} (re-create it with `script add`)")
    try:
        steps = np.frombuffer(base64.b64decode(text[3:], validate=True), dtype=np.uint8)
    except ValueError as exc:
        raise ValueError("fingerprint is not valid base64") from exc
    return -steps.astype(np.float64) / STEPS_PER_DB


def digest(envelope: Envelope) -> str:
    """A short stable name for unscripted audio (coarse levels, so small jitter rarely matters)."""
    coarse = np.clip(np.round(-envelope / 10), 0, 255).astype(np.uint8)
    return hashlib.sha1(coarse.tobytes()).hexdigest()[:10]


def distance(live: Envelope, stored: Envelope) -> float:
    """Mean absolute level difference in dB over the common length, best over small shifts."""
    return _best_shift(live, stored)[0]


def _best_shift(live: Envelope, stored: Envelope) -> tuple[float, int]:
    """(distance, shift): ``shift`` windows is how much later the live sound starts than the stored."""
    n = min(live.size, stored.size)
    if n == 0:
        return (0.0 if live.size == stored.size else float("inf")), 0
    best, best_shift = float("inf"), 0
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        a = live[max(0, shift) : n + min(0, shift)]
        b = stored[max(0, -shift) : n - max(0, shift)]
        if a.size >= max(1, n // 2):
            d = float(np.mean(np.abs(a - b)))
            if d < best or (d == best and abs(shift) < abs(best_shift)):
                best, best_shift = d, shift
    return best, best_shift


@dataclass(frozen=True)
class Place:
    """Where a live stretch of sound fits in a stored recording."""

    distance: float  # dB, as ``distance``
    window: int  # the stored window the live sound's first window matches


def at_start(live: Envelope, stored: Envelope) -> Place:
    """How well the live sound matches the stored recording's beginning (within a few windows)."""
    d, shift = _best_shift(*_comparable(live, stored[: max(live.size, 1)]))
    return Place(d, max(0, -shift))


def find_inside(live: Envelope, stored: Envelope) -> Place | None:
    """The best place of the live sound anywhere in the stored recording, or None if it is longer.

    Every start is ranked by the normalized cross-correlation of the levels (insensitive to the
    stretch's own loudness), computed at once with an FFT; the best ``CANDIDATES`` starts, apart
    from one another, are then measured exactly (each stretch relative to its own loud level).
    """
    live = relative(live)
    n, m = live.size, stored.size
    centred = live - live.mean()
    norm = float(np.sqrt(np.sum(np.square(centred))))
    if n == 0 or m < n or norm == 0:
        return None
    levels = np.maximum(stored, FLOOR_DB)
    size = 1 << (m + n).bit_length()
    spectrum = np.fft.rfft(levels, size) * np.conj(np.fft.rfft(centred, size))
    products = np.fft.irfft(spectrum, size)[: m - n + 1]
    sums = np.concatenate([[0.0], np.cumsum(levels)])
    squares = np.concatenate([[0.0], np.cumsum(np.square(levels))])
    window_sums = sums[n:] - sums[:-n]
    spread = np.sqrt(np.maximum(squares[n:] - squares[:-n] - np.square(window_sums) / n, 0.0))
    score = np.where(spread > 1e-6, products / (norm * np.maximum(spread, 1e-6)), -1.0)
    chosen: list[int] = []
    for start in np.argsort(-score)[: CANDIDATES * 20]:
        if all(abs(int(start) - c) > MAX_SHIFT for c in chosen):
            chosen.append(int(start))
            if len(chosen) == CANDIDATES:
                break
    best: Place | None = None
    for start in chosen:
        d, shift = _best_shift(*_comparable(live, stored[start : start + n]))
        if best is None or d < best.distance:
            best = Place(d, max(0, start - shift))
    return best
