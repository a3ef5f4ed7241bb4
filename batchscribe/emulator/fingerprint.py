"""Recognize a recording by its sound, whatever its name, container or sample rate.

The fingerprint is a coarse energy envelope: the level of each 20 ms window over the first
``SECONDS`` of audio, relative to the recording's loud level (its 95th percentile), floored at
-45 dB. Relative levels barely change when a recording is resampled (8 kHz keeps less of a noise's
energy, but evenly), encoded to MP3/AAC and decoded, or sent by the SDK at its native rate. Two
envelopes are compared by their mean absolute difference in dB, allowing a shift of a few windows
for codec delay; the nearest stored one within ``TOLERANCE_DB`` wins
(``scripts.Transcripts.identify``). Measured on noise-burst and tone recordings: copies through
MP3, 8 kHz or a 45 ms delay stay within 0.5 dB; different recordings are told apart unless their
loudness changes all fall within ~30 ms of each other (then they are the same to this measure).

Stored form: ``e2:`` + base64 of one byte per window (relative level in -0.25 dB steps).
"""

from __future__ import annotations

import base64
import hashlib

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
        return np.maximum(levels - np.percentile(levels, 95), FLOOR_DB)


def envelope_of(samples: Samples, sample_rate: int) -> Envelope:
    builder = FingerprintBuilder(sample_rate)
    builder.feed(0, samples)
    return builder.envelope()


def encode(envelope: Envelope) -> str:
    steps = np.clip(np.round(-envelope * STEPS_PER_DB), 0, 255).astype(np.uint8)
    return "e2:" + base64.b64encode(steps.tobytes()).decode("ascii")


def decode(text: str) -> Envelope:
    if not text.startswith("e2:"):
        raise ValueError(
            f"unknown fingerprint format {text[:10]!r} (re-create it with `script add`)"
        )
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
    n = min(live.size, stored.size)
    if n == 0:
        return 0.0 if live.size == stored.size else float("inf")
    best = float("inf")
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        a = live[max(0, shift) : n + min(0, shift)]
        b = stored[max(0, -shift) : n - max(0, shift)]
        if a.size >= max(1, n // 2):
            best = min(best, float(np.mean(np.abs(a - b))))
    return best
