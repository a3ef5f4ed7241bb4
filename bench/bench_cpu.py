#!/usr/bin/env python3
"""CPU per session: batchscribe's engine vs. a hand-written bare Speech SDK pool, same files, same run.

Writes ``--files`` synthetic WAVs of ``--seconds`` each (16 kHz mono s16le, speech-like bursts),
starts one emulator in its own process (so its CPU is not counted; hypotheses every
``--hypothesis-ms`` like the real service's partials) and transcribes every file at once, one
thread per file, ``--rounds`` times with each of:

- **bare SDK pool**: ``AudioConfig(filename=...)``, only ``recognized`` (phrase text kept) and
  ``session_stopped`` subscribed, signals disconnected and objects dropped after the session;
- **batchscribe**: one ``AzureEngine`` (what ``batchscribe run`` builds), ``transcribe`` from the
  same number of threads, ``engine.close()`` inside the measurement;
- **bare, same reads**: the bare pool again with the SDK reading as many bytes per frame as
  ``AzureEngine`` makes it read from its pull stream (``SPEECH-BytesPerFrame``). A hand-written
  pool does not set that; the ratio against it is what is left of batchscribe's own cost.

CPU is this process's user+system time (``resource.getrusage(RUSAGE_SELF)``: every thread,
the SDK's native ones included) from the first session's start until everything is released.
Printed per pass: CPU-s (user and system), wall, mean session length, CPU-s per session, and
sessions per core = session-seconds / CPU-s (how many such sessions one core keeps running).
Target: batchscribe / bare <= 1.3 (aim 1.1), the median over the rounds.

    python bench/bench_cpu.py [--files 32] [--seconds 40] [--rounds 3] [--send-rate 2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import azure.cognitiveservices.speech as speechsdk
from _common import burst_samples, emulator_process, write_wav

from batchscribe.audio import AudioInfo, probe
from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint
from batchscribe.emulator import SegmenterConfig
from batchscribe.engines.azure import PULL_BYTES_PER_READ, AzureEngine
from batchscribe.engines.base import RecognitionOptions, RecognitionRequest

TARGET, AIM = 1.3, 1.1


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


@dataclass
class Pass:
    name: str
    user_s: float
    system_s: float
    wall_s: float
    session_s: float  # the sum of every session's wall time
    phrases: int
    errors: list[str]

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s

    @property
    def sessions_per_core(self) -> float:
        return self.session_s / self.cpu_s if self.cpu_s > 0 else float("inf")

    def line(self, sessions: int) -> str:
        return (
            f"  {self.name:<17} {self.cpu_s:5.2f} CPU-s ({self.user_s:5.2f} user "
            f"{self.system_s:5.2f} sys)  {self.wall_s:5.1f} s wall  {self.session_s / sessions:5.2f} s/session  "
            f"{self.cpu_s / sessions * 1000:6.1f} ms CPU/session  "
            f"{self.sessions_per_core:6.1f} sessions per core  {self.phrases} phrases"
            + (f"  {len(self.errors)} ERRORS: {self.errors[0]}" if self.errors else "")
        )


def speech_config(url: str, send_rate: float | None, bytes_per_frame: int | None) -> speechsdk.SpeechConfig:
    config = speechsdk.SpeechConfig(host=url, subscription="bench")
    if bytes_per_frame is not None:
        config.set_property_by_name("SPEECH-BytesPerFrame", str(bytes_per_frame))
    if send_rate is not None:  # the same properties AzureEngine sets for --sdk-send-rate
        config.set_property_by_name("SPEECH-AudioThrottleAsPercentageOfRealTime", str(int(send_rate * 100)))
        for name in ("SPEECH-TransmitLengthBeforThrottleMs", "SPEECH-TransmitLengthBeforeThrottleMs"):
            config.set_property_by_name(name, "0")
    return config


def bare_session(url: str, path: Path, send_rate: float | None, bytes_per_frame: int | None = None) -> int:
    """One session as a hand-written pool would run it; returns the number of phrases."""
    recognizer = speechsdk.SpeechRecognizer(
        speech_config=speech_config(url, send_rate, bytes_per_frame),
        audio_config=speechsdk.audio.AudioConfig(filename=str(path)),
    )
    done = threading.Event()
    texts: list[str] = []
    recognizer.recognized.connect(lambda evt: texts.append(evt.result.text))
    recognizer.session_stopped.connect(lambda evt: done.set())
    recognizer.start_continuous_recognition_async()
    if not done.wait(300):
        raise RuntimeError(f"bare session on {path.name} did not end in 300 s")
    recognizer.recognized.disconnect_all()
    recognizer.session_stopped.disconnect_all()
    del recognizer
    return len([t for t in texts if t])


def run_pass(name: str, one: Callable[[int], int], count: int, finish: Callable[[], None]) -> Pass:
    """``one(n)`` for every n at once (one thread each), then ``finish()``; all of it measured."""
    session_s = [0.0] * count
    phrases = [0] * count
    errors: list[str] = []

    def work(n: int) -> None:
        began = time.perf_counter()
        try:
            phrases[n] = one(n)
        except Exception as exc:  # counted and shown: a pass with errors proves nothing
            errors.append(f"{type(exc).__name__}: {exc}")
        session_s[n] = time.perf_counter() - began

    threads = [threading.Thread(target=work, args=(n,), name=f"bench-{name}-{n}") for n in range(count)]
    (user, system), wall = cpu_seconds(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finish()
    user_end, system_end = cpu_seconds()
    return Pass(
        name,
        user_end - user,
        system_end - system,
        time.perf_counter() - wall,
        sum(session_s),
        sum(phrases),
        errors,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=32, help="files, all transcribed at once")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each file")
    parser.add_argument("--rounds", type=int, default=3, help="passes of each kind, alternating")
    parser.add_argument(
        "--send-rate",
        type=float,
        default=4.0,
        help="SDK send throttle, times real time, for both (0: the SDK's default)",
    )
    parser.add_argument(
        "--hypothesis-ms",
        type=int,
        default=300,
        help="emulator: a partial result this often while speech goes on",
    )
    args = parser.parse_args()
    send_rate = args.send_rate or None

    with tempfile.TemporaryDirectory(prefix="bench_cpu_") as tmp:
        files: list[tuple[Path, AudioInfo]] = []
        for i in range(args.files):
            path = write_wav(Path(tmp) / f"rec-{i:03d}.wav", burst_samples(500 + i, args.seconds))
            files.append((path, probe(path)))
        segmenter = SegmenterConfig(hypothesis_every_ms=args.hypothesis_ms)
        with emulator_process(segmenter=segmenter) as (url, totals):
            endpoint = Endpoint(kind="emulator", key="emulator", url=url)

            def bare(n: int) -> int:
                return bare_session(url, files[n][0], send_rate)

            def bare_same_reads(n: int) -> int:
                return bare_session(url, files[n][0], send_rate, PULL_BYTES_PER_READ)

            def batchscribe_pass() -> Pass:
                engine = AzureEngine(endpoint, RecognitionOptions(), send_rate=send_rate)

                def one(n: int) -> int:
                    path, info = files[n]
                    transcript = engine.transcribe(
                        RecognitionRequest(path, info, label=path.name),
                        on_progress=lambda s: None,
                        cancel=CancelToken(),
                    )
                    return len(transcript.phrases)

                return run_pass("batchscribe", one, len(files), engine.close)

            # Warm-up: the SDK's and FFmpeg's one-time set-up, outside every measurement.
            warm = AzureEngine(endpoint, RecognitionOptions(), send_rate=send_rate)
            short = write_wav(Path(tmp) / "warm.wav", burst_samples(1, 2.0))
            warm.transcribe(
                RecognitionRequest(short, probe(short)), on_progress=lambda s: None, cancel=CancelToken()
            )
            warm.close()
            bare_session(url, short, send_rate)

            print(
                f"{args.files} files x {args.seconds:g} s, all at once; SDK send rate "
                f"{f'{send_rate:g}x' if send_rate else 'default'}; emulator partials every "
                f"{args.hypothesis_ms} ms; {args.rounds} round(s)"
            )
            ratios, same_read_ratios, problems = [], [], []
            for round_no in range(1, args.rounds + 1):
                ours = batchscribe_pass()
                theirs = run_pass("bare SDK", bare, len(files), lambda: None)
                same_reads = run_pass("bare, same reads", bare_same_reads, len(files), lambda: None)
                ratios.append(ours.cpu_s / theirs.cpu_s)
                same_read_ratios.append(ours.cpu_s / same_reads.cpu_s)
                print(f"round {round_no}:")
                for measured in (ours, theirs, same_reads):
                    print(measured.line(len(files)))
                print(
                    f"  ratio batchscribe / bare SDK: {ratios[-1]:.2f}x CPU; "
                    f"/ bare SDK reading {PULL_BYTES_PER_READ} bytes per frame: {same_read_ratios[-1]:.2f}x"
                )
                if ours.errors or theirs.errors or same_reads.errors or ours.phrases != theirs.phrases:
                    problems.append(
                        f"round {round_no}: errors, or batchscribe's phrases differ from the pool's"
                    )
        print(
            f"emulator: {totals.get('sessions')} sessions, {totals.get('rejected')} rejected, "
            f"{totals.get('protocol_errors')} protocol errors, {totals.get('stalled')} stalled"
        )
    ratio = statistics.median(ratios)
    verdict = "met" if ratio <= TARGET and not problems else "NOT MET"
    for problem in problems:  # a cheaper run that transcribed less proves nothing
        print(f"INVALID {problem}")
    print(f"vs bare SDK with the same frames (median): {statistics.median(same_read_ratios):.2f}x")
    print(f"CPU ratio (median of {len(ratios)}): {ratio:.2f}x  target <= {TARGET} (aim {AIM}): {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
