#!/usr/bin/env python3
"""How fast batchscribe.audio decodes compressed recordings to 16 kHz mono, per CPU core.

Makes ~10 minutes of speech (the fixtures' espeak-ng sentences, looped) in MP3, M4A (AAC) and
Opus with PyAV in a temporary folder, then reads each through ``open_pcm`` to the end and
prints audio seconds decoded per CPU second (``time.process_time``: all threads, so it is the
cost on one core) against the 200x real-time target. The Speech SDK consumes audio at about 2x
real time per session, so 200x means one core decodes for ~100 concurrent sessions.

    python bench/bench_decode.py [--minutes 10] [--read-size 3200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batchscribe.audio import BYTES_PER_SECOND, open_pcm  # noqa: E402
from batchscribe.emulator.synth import encode_samples  # noqa: E402

TARGET_X = 200.0
SPEECH_SOURCES = ["wav16_mono.wav", "wav_extensible.wav", "wav8k_pcm16_mono.wav"]
# (label, file name, container format, codec, sample rate, layout, bit rate): common settings
# for phone voice memos, podcasts/recorders and messaging apps.
CASES = [
    ("MP3 44.1 kHz stereo 128k", "speech.mp3", "mp3", "libmp3lame", 44100, "stereo", 128_000),
    ("M4A AAC-LC 48 kHz mono 64k", "speech.m4a", "ipod", "aac", 48000, "mono", 64_000),
    ("OPUS 48 kHz mono 32k (ogg)", "speech.opus", "ogg", "libopus", 48000, "mono", 32_000),
]


def speech_loop(seconds: float, rate: int) -> np.ndarray:
    """The fixtures' spoken sentences, resampled to ``rate`` and repeated to ``seconds``."""
    parts = []
    for name in SPEECH_SOURCES:
        with av.open(str(ROOT / "fixtures" / "formats" / name)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(audio=0):
                parts += [f.to_ndarray()[0] for f in resampler.resample(frame)]
            parts += [f.to_ndarray()[0] for f in resampler.resample(None)]
    once = np.concatenate(parts)
    repeats = int(np.ceil(seconds * rate / len(once)))
    return np.tile(once, repeats)[: int(seconds * rate)]


def encode(path: Path, fmt: str, codec: str, rate: int, layout: str, bit_rate: int, seconds: float) -> None:
    encode_samples(
        path,
        speech_loop(seconds, rate),
        codec=codec,
        rate=rate,
        layout=layout,
        container_format=fmt,
        bit_rate=bit_rate,
    )


def decode_cpu_seconds(path: Path, read_size: int) -> tuple[float, float]:
    """(audio seconds, CPU seconds) for one full decode through open_pcm."""
    cpu = time.process_time()
    decoded = 0
    with open_pcm(path) as reader:
        while data := reader.read(read_size):
            decoded += len(data)
    return decoded / BYTES_PER_SECOND, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--read-size", type=int, default=3200, help="bytes per read() call (3200 = 100 ms of audio)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="decodes per format (median)")
    args = parser.parse_args()

    print(
        f"decode to 16 kHz mono s16le, {args.minutes:g} min per file, "
        f"read({args.read_size}), median of {args.repeat}; target {TARGET_X:.0f}x"
    )
    worst = float("inf")
    with tempfile.TemporaryDirectory(prefix="bench_decode_") as tmp:
        for label, name, fmt, codec, rate, layout, bit_rate in CASES:
            path = Path(tmp) / name
            encode(path, fmt, codec, rate, layout, bit_rate, args.minutes * 60)
            runs = [decode_cpu_seconds(path, args.read_size) for _ in range(args.repeat)]
            audio_s = runs[0][0]
            cpu_s = statistics.median(cpu for _, cpu in runs)
            speed = audio_s / cpu_s
            worst = min(worst, speed)
            verdict = "ok" if speed >= TARGET_X else "BELOW TARGET"
            print(
                f"  {label:28} {audio_s:7.1f} s audio in {cpu_s:6.3f} s CPU = "
                f"{speed:6.0f}x real time per core ({speed / TARGET_X:4.1f}x target, {verdict})"
            )
    return 0 if worst >= TARGET_X else 1


if __name__ == "__main__":
    sys.exit(main())
