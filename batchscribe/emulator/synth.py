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


def encode_samples(
    path: Path,
    samples: npt.NDArray[np.int16],
    *,
    codec: str,
    rate: int,
    layout: str = "mono",
    container_format: str | None = None,
    bit_rate: int | None = None,
) -> Path:
    """Encode 16-bit ``samples`` with PyAV: mono ones copied to every channel of ``layout``, or
    one column per channel (``samples[frame, channel]``), one second per frame (the encoder
    re-frames it); for compressed test recordings of any length."""
    import av  # only the makers of compressed test recordings need it here

    channels = av.AudioLayout(layout).nb_channels
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        for start in range(0, len(samples), rate):
            chunk = samples[start : start + rate]
            columns = chunk if chunk.ndim == 2 else np.repeat(chunk[:, None], channels, axis=1)
            interleaved = np.ascontiguousarray(columns).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
