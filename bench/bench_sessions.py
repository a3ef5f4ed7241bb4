#!/usr/bin/env python3
"""Do many recognition sessions leave threads, file descriptors or memory behind?

Runs ``--sessions`` short sessions (1-2 s synthetic WAVs) through one ``AzureEngine`` (the real
Speech SDK) against the emulator, first one after the other, then from ``--workers`` threads at
once, and samples this process's thread count (/proc/self/status), open fds (/proc/self/fd; how
many are open on a recording, i.e. held by a decoder) and RSS every ``--every`` sessions. The
emulator runs in its own process, so its sockets, threads and memory are not counted. Baseline
(``--sdk-baseline``): the same number of sessions with the bare SDK (a pull stream from memory,
signals disconnected, objects dropped, as SDK_FACTS.md describes), so RSS growth per session can
be read as batchscribe's share vs. the SDK's own.

Target ("flat"): after ``engine.close()`` (and ``--settle`` seconds, without forcing a
``gc.collect()``; the counts after one are printed too) the thread and fd counts equal the baseline
taken before the engine was made (after a warm-up engine, so the SDK's one-time state is already
there), and RSS at the last sample is within 10% of the first sample (taken after ``--every``
sessions). SDK_FACTS.md saw 9 threads, 6 fds, ~50 MB for 400 sessions over 8 threads.

    python bench/bench_sessions.py [--sessions 400] [--workers 8] [--every 50]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import azure.cognitiveservices.speech as speechsdk
from _common import burst_samples, emulator_process, mb, open_fds, proc_status, write_wav

from batchscribe.audio import AudioInfo, probe
from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint
from batchscribe.engines.azure import AzureEngine
from batchscribe.engines.base import RecognitionOptions, RecognitionRequest
from batchscribe.errors import BatchscribeError

RSS_GROWTH = 0.10
RECORDING_PREFIX = "bench-session-"


@dataclass(frozen=True)
class Sample:
    sessions: int
    threads: int
    fds: int
    rss: int
    recordings: int  # fds open on a recording (the decoder's file)

    def __str__(self) -> str:
        return (f"{self.sessions:5d} sessions: {self.threads:3d} threads {self.fds:4d} fds "
                f"({self.recordings:3d} on recordings) {mb(self.rss):6.1f} MB")  # fmt: skip


def open_recordings() -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += fd.readlink().name.startswith(RECORDING_PREFIX)
    return count


def sample(sessions: int) -> Sample:
    status = proc_status()
    return Sample(sessions, status["Threads"], open_fds(), status["VmRSS"], open_recordings())


def settle(baseline: Sample, sessions: int, wait: float, *, collect: bool) -> tuple[Sample, float]:
    """Sample until threads and fds are back at the baseline, at most ``wait`` seconds; with
    ``collect``, run ``gc.collect()`` before each sample."""
    started = time.perf_counter()
    while True:
        if collect:
            gc.collect()
        now = sample(sessions)
        elapsed = time.perf_counter() - started
        if (now.threads, now.fds) == (baseline.threads, baseline.fds) or elapsed >= wait:
            return now, elapsed
        time.sleep(0.1)


class _Bytes(speechsdk.audio.PullAudioInputStreamCallback):  # type: ignore[misc]
    def __init__(self, pcm: bytes) -> None:
        super().__init__()
        self._pcm, self._at = pcm, 0

    def read(self, buffer: memoryview) -> int:
        n = min(buffer.nbytes, len(self._pcm) - self._at)
        buffer[:n] = self._pcm[self._at : self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        pass


def bare_sdk_session(url: str, pcm: bytes, send_rate: float) -> None:
    """One session with the SDK alone (pull stream from memory, no batchscribe), cleaned up the
    way SDK_FACTS.md says: signals disconnected, objects dropped."""
    config = speechsdk.SpeechConfig(host=url, subscription="bench")
    config.set_property_by_name("SPEECH-AudioThrottleAsPercentageOfRealTime", str(int(send_rate * 100)))
    stream_format = speechsdk.audio.AudioStreamFormat(
        samples_per_second=16000, bits_per_sample=16, channels=1
    )
    stream = speechsdk.audio.PullAudioInputStream(_Bytes(pcm), stream_format)
    audio_config = speechsdk.audio.AudioConfig(stream=stream)
    recognizer = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio_config)
    done = threading.Event()
    recognizer.session_stopped.connect(lambda evt: done.set())
    recognizer.canceled.connect(lambda evt: done.set())
    recognizer.start_continuous_recognition_async()
    done.wait(30)
    recognizer.session_stopped.disconnect_all()
    recognizer.canceled.disconnect_all()
    del recognizer, audio_config, stream


def kb_per_session(samples: list[Sample]) -> float:
    first, last = samples[0], samples[-1]
    return (last.rss - first.rss) / max(1, last.sessions - first.sessions) / 1000


def run_sessions(one: Callable[[int], None], total: int, workers: int,
                 every: int) -> tuple[list[Sample], list[str], float, float]:  # fmt: skip
    """``one(n)`` for n in range(total) from ``workers`` threads; samples every ``every`` finished
    sessions. Returns (samples, errors, wall seconds, CPU seconds of this process)."""
    lock = threading.Lock()
    counter = {"next": 0, "done": 0}
    samples: list[Sample] = []
    errors: list[str] = []

    def work() -> None:
        while True:
            with lock:
                n = counter["next"]
                if n >= total:
                    return
                counter["next"] += 1
            try:
                one(n)
            except BatchscribeError as exc:
                with lock:
                    errors.append(str(exc))
            with lock:
                counter["done"] += 1
                if counter["done"] % every == 0:
                    samples.append(sample(counter["done"]))

    started, cpu = time.perf_counter(), time.process_time()
    if workers == 1:
        work()
    else:
        threads = [threading.Thread(target=work, name=f"bench-worker-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return samples, errors, time.perf_counter() - started, time.process_time() - cpu


def engine_sessions(engine: AzureEngine, files: list[tuple[Path, AudioInfo]]) -> Callable[[int], None]:
    def one(n: int) -> None:
        path, info = files[n % len(files)]
        engine.transcribe(RecognitionRequest(path, info, label=path.name),
                          on_progress=lambda s: None, cancel=CancelToken())  # fmt: skip

    return one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--workers", type=int, default=8, help="threads for the concurrent pass")
    parser.add_argument("--every", type=int, default=50, help="sample every N finished sessions")
    parser.add_argument("--files", type=int, default=8, help="distinct recordings (1-2 s each)")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="emulator: times real time (default: answer as fast as audio arrives)",
    )
    parser.add_argument("--send-rate", type=float, default=100.0, help="SDK send throttle, times real time")
    parser.add_argument(
        "--sdk-baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the sessions with the bare SDK (no batchscribe), sequentially",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds to wait after close() (no gc.collect) for threads and fds to return",
    )
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_sessions_") as tmp:
        files = []
        for i in range(args.files):
            path = write_wav(
                Path(tmp) / f"{RECORDING_PREFIX}{i}.wav", burst_samples(100 + i, 1.0 + i / max(1, args.files))
            )
            files.append((path, probe(path)))
        with emulator_process(speed=args.speed) as (url, totals):
            endpoint = Endpoint(kind="emulator", key="emulator", url=url)

            def engine() -> AzureEngine:
                return AzureEngine(endpoint, RecognitionOptions(), send_rate=args.send_rate)

            warm = engine()  # the SDK's and FFmpeg's one-time state, before the baseline
            run_sessions(engine_sessions(warm, files), 8, 2, 8)
            warm.close()
            baseline, _ = settle(sample(0), 0, 3.0, collect=True)
            print(f"{args.sessions} sessions per pass of 1.0-2.0 s WAVs, emulator speed "
                  f"{args.speed or 'as audio arrives'}, SDK send rate {args.send_rate:g}x; "
                  f"baseline after a warm-up engine: {baseline}")  # fmt: skip
            slopes = {}
            for workers in (1, args.workers):
                eng = engine()
                samples, errors, wall, cpu = run_sessions(
                    engine_sessions(eng, files), args.sessions, workers, args.every
                )
                close_started = time.perf_counter()
                eng.close()
                close_s = time.perf_counter() - close_started
                del eng
                idle, idle_s = settle(baseline, args.sessions, args.settle, collect=False)
                after, _ = settle(baseline, args.sessions, 3.0, collect=True)
                first, last = samples[0], samples[-1]
                growth = last.rss / first.rss - 1
                slopes[workers] = kb_per_session(samples)
                back = (idle.threads, idle.fds) == (baseline.threads, baseline.fds)
                back_gc = (after.threads, after.fds) == (baseline.threads, baseline.fds)
                flat = back and growth < RSS_GROWTH
                ok = ok and flat and not errors
                verdict = (
                    "flat"
                    if flat
                    else (
                        "NOT FLAT: RSS"
                        if back
                        else f"NOT FLAT: fds/threads {'back only after gc.collect()' if back_gc else 'never back'}"
                        + (", RSS" if growth >= RSS_GROWTH else "")
                    )
                )
                peak_threads = max(s.threads for s in samples)
                print(f"  {workers} worker{'s' if workers > 1 else ''}: {args.sessions} sessions in "
                      f"{wall:.1f} s ({wall / args.sessions * 1000 * workers:.0f} ms per session per "
                      f"worker, {cpu / args.sessions * 1000:.0f} ms CPU per session), {len(errors)} errors")  # fmt: skip
                print(f"    first  {first}")
                print(f"    last   {last}   (RSS {growth:+.1%} vs first; max threads {peak_threads})")
                print(f"    closed {idle}   (close() {close_s:.2f} s, then waited {idle_s:.1f} s, no gc)")
                print(f"    + gc   {after}   (after gc.collect(); vs baseline {after.threads - baseline.threads:+d} "
                      f"threads {after.fds - baseline.fds:+d} fds {mb(after.rss - baseline.rss):+.1f} MB) "
                      f"-> {verdict}")  # fmt: skip
                lingering = max(s.recordings for s in samples)
                if lingering > workers:
                    print(f"    note: up to {lingering} recordings open at a sample with {workers} session(s) "
                          f"in flight: finished sessions' decoders are not closed, only garbage-collected")  # fmt: skip
                for line in errors[:5]:
                    print(f"    error: {line}")
                if args.sessions >= 2 * args.every:
                    print("    samples: " + "; ".join(
                        f"{s.sessions}: {s.threads}t {s.fds}fd {s.recordings}rec {mb(s.rss):.1f}MB" for s in samples))  # fmt: skip
            if args.sdk_baseline:
                pcms = [path.read_bytes()[44:] for path, _ in files]  # our WAVs: 44-byte header
                for workers in (1, args.workers):
                    bare, _, wall, _ = run_sessions(
                        lambda n: bare_sdk_session(url, pcms[n % len(pcms)], args.send_rate),
                        args.sessions, workers, args.every,
                    )  # fmt: skip
                    gc.collect()
                    per_session = kb_per_session(bare)
                    kb = slopes[workers]
                    print(f"  bare SDK, {workers} worker{'s' if workers > 1 else ''}: {args.sessions} sessions in "
                          f"{wall:.1f} s; first {bare[0]}; last {bare[-1]} "
                          f"(RSS {bare[-1].rss / bare[0].rss - 1:+.1%} vs first)")  # fmt: skip
                    print(f"    RSS growth per session, first to last sample: bare SDK {per_session:.1f} kB, "
                          f"AzureEngine {kb:.1f} kB ({kb / per_session if per_session > 0 else float('nan'):.2f}x "
                          f"the SDK's)")  # fmt: skip
        print(f"emulator: {totals.get('sessions')} sessions, {totals.get('rejected')} rejected, "
              f"{totals.get('protocol_errors')} protocol errors, {totals.get('stalled')} stalled")  # fmt: skip
    print("flat: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
