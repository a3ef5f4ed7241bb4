"""Synthetic speech-like recordings for tests, benchmarks and demos of the emulator.

Bursts of noise shaped like utterances, separated by pauses: the emulator's segmenter splits them
as it would speech, and each seed gives a different pattern, hence a different fingerprint.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 16_000


def burst_samples(seed: int, seconds: float = 4.0, rate: int = RATE) -> npt.NDArray[np.int16]:
    """16-bit samples: utterance-like bursts separated by silences; the pattern differs per seed."""
    rng = np.random.default_rng(seed)
    total = int(seconds * rate)
    samples = np.zeros(total, dtype=np.float64)
    position = int(0.2 * rate)
    while position < total - int(0.3 * rate):
        burst = int(rng.uniform(0.4, 1.4) * rate)
        end = min(total - int(0.2 * rate), position + burst)
        envelope = np.sin(np.linspace(0, np.pi, end - position)) ** 0.5
        samples[position:end] = rng.normal(0, 0.25, end - position) * envelope
        position = end + int(rng.uniform(0.5, 0.9) * rate)
    return (np.clip(samples, -1, 1) * 32767).astype(np.int16)


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = RATE, channels: int = 1) -> Path:
    """A PCM WAV file of ``samples`` (interleaved when ``channels`` > 1); folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path
