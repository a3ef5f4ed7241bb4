#!/usr/bin/env python3
"""How close a whole ``run_batch`` comes to the ideal wall time for its files and workers.

Makes ``--files`` synthetic WAV recordings of 4 to 12 s (speech-like bursts, fixed seed) in a
temporary folder and transcribes them with ``run_batch`` (16 workers, JSON + TXT, the real Speech
SDK) against the emulator answering at ``--speed`` times real time, with the SDK's 2x real-time
send throttle lifted (``sdk_send_rate``) so only the emulator's pace bounds a session.

Ideal: the makespan of longest-first (LPT) scheduling of duration/speed on the workers, i.e. what
a runner with zero per-file cost would take. Also printed: the simple lower bound
max(total/workers, longest)/speed. Target (issue): ideal/wall >= 0.9. Per-file overhead =
(wall - ideal) * workers / files.

The gap is split by replaying the measured per-session times through two models:
  * session floor: LPT of each file's measured session time (engine.transcribe, connect to
    session end) instead of duration/speed;
  * ramp-up: the same times through the adaptive limiter's ramp (starts at 2 sessions, one more
    per success, batchscribe/resources/limiter.py);
  * rest: what the models do not explain (outputs, ledger, thread hand-offs, planning, report).
With ``--no-ramp-baseline`` (default on) every run is followed by one whose limiter starts at
``--workers``, measured in the same process, so the ramp's cost is also measured, not modelled.

    python bench/bench_pipeline.py [--files 64] [--workers 16] [--speed 4] [--runs 1]
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _common import burst_samples, emulator_process, write_wav

from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.errors import FileError
from batchscribe.planning.planner import WorkItem
from batchscribe.resources.service import azure_engine
from batchscribe.results import FileResult
from batchscribe.running.run import run_batch

TARGET = 0.9


# -- models ------------------------------------------------------------------------------------


def lpt_makespan(times: Sequence[float], workers: int) -> float:
    """Longest-first list scheduling on ``workers`` machines."""
    finish = [0.0] * workers
    for t in sorted(times, reverse=True):
        heapq.heapreplace(finish, finish[0] + t)
    return max(finish)


def ramp_makespan(times: Sequence[float], workers: int, start: int = 2) -> float:
    """Longest first, but at most ``limit`` at once; ``limit`` starts at ``start`` and grows by
    one per finished session up to ``workers`` (AdaptiveLimiter's slow start, no throttling)."""
    queue = sorted(times, reverse=True)
    limit, now, running = min(start, workers), 0.0, []  # running: heap of end times
    while queue or running:
        while queue and len(running) < limit:
            heapq.heappush(running, now + queue.pop(0))
        now = heapq.heappop(running)
        limit = min(workers, limit + 1)
    return now


# -- instrumentation ---------------------------------------------------------------------------


class TimedEngine:
    """Wraps the engine run_batch builds and times each session."""

    def __init__(self, inner: Engine, clock_zero: float) -> None:
        self.name = inner.name
        self._inner = inner
        self._zero = clock_zero
        self._lock = threading.Lock()
        self.sessions: dict[str, tuple[float, float]] = {}

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        began = time.perf_counter() - self._zero
        try:
            return self._inner.transcribe(request, on_progress=on_progress, cancel=cancel)
        finally:
            with self._lock:
                self.sessions[request.label] = (began, time.perf_counter() - self._zero)

    def close(self) -> None:
        self._inner.close()


class TimingFactory:
    """An engine factory for ``run_batch``: the real engine, timed per session."""

    def __init__(self, zero: float) -> None:
        self.zero = zero
        self.engine: TimedEngine | None = None

    def __call__(self, settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
        self.engine = TimedEngine(azure_engine(settings, endpoint, congestion), self.zero)
        return self.engine


@dataclass
class Events:
    """A RunEvents sink that keeps times (seconds since ``zero``)."""

    zero: float
    started: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    limits: list[tuple[float, int]] = field(default_factory=list)
    retries: int = 0

    def _now(self) -> float:
        return time.perf_counter() - self.zero

    def file_started(self, item: WorkItem, worker: int) -> None:
        self.started[item.source] = self._now()

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        pass

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        self.retries += 1

    def file_finished(self, result: FileResult) -> None:
        self.finished[result.source] = self._now()

    def concurrency_changed(self, limit: int) -> None:
        self.limits.append((self._now(), limit))


# -- one run -------------------------------------------------------------------------------------


@dataclass
class Measured:
    label: str
    files: int
    audio_s: float
    wall: float
    ideal: float
    bound: float
    floor_model: float
    ramp_model: float
    runner_wall: float
    before: float  # run_batch called -> first file started (plan, probe, engine)
    session_overhead: list[float]
    write_s: list[float]
    full_at: float | None
    cpu_s: float
    failed: int
    start: int  # the limiter's first limit
    drops: int  # times the limit went down
    throttled: int  # throttling signals the limiter heard

    @property
    def ratio(self) -> float:
        return self.ideal / self.wall


def run_once(label: str, inputs: Path, out: Path, endpoint: Endpoint, args: argparse.Namespace) -> Measured:
    settings = RunSettings(
        inputs=(inputs,), out=out, endpoint=endpoint, workers=args.workers,
        formats=("json", "txt"), sdk_send_rate=args.send_rate,
    )  # fmt: skip
    zero = time.perf_counter()
    events = Events(zero)
    cpu = time.process_time()
    factory = TimingFactory(zero)
    start = 1 if label != "no ramp" else args.workers
    result = run_batch(settings, events=events, engine_factory=factory, slow_start=label != "no ramp")
    wall = time.perf_counter() - zero
    assert factory.engine is not None, "run_batch did not build its engine through the factory"
    engine = factory.engine
    cpu_s = time.process_time() - cpu

    ok = [f for f in result.files if f.status == "succeeded"]
    durations = {f.source: f.audio.duration_s for f in result.files if f.audio is not None}
    ideal_times = [d / args.speed for d in durations.values()]
    measured_times = [end - began for began, end in engine.sessions.values()]
    overhead = [
        (end - began) - durations[source] / args.speed for source, (began, end) in engine.sessions.items()
    ]
    write_s = [events.finished[s] - engine.sessions[s][1] for s in engine.sessions if s in events.finished]
    first_start = min(events.started.values(), default=0.0)
    last_end = max(events.finished.values(), default=0.0)
    full_at = next((t - first_start for t, limit in events.limits if limit >= args.workers), None)
    limits = [limit for _, limit in events.limits]
    drops = sum(1 for a, b in zip([start, *limits], limits, strict=False) if b < a)
    return Measured(
        label=label,
        files=len(ok),
        audio_s=sum(durations.values()),
        wall=wall,
        ideal=lpt_makespan(ideal_times, args.workers),
        bound=max(sum(ideal_times) / args.workers, max(ideal_times)),
        floor_model=lpt_makespan(measured_times, args.workers),
        ramp_model=ramp_makespan(measured_times, args.workers, start),
        runner_wall=last_end - first_start,
        before=first_start,
        session_overhead=overhead,
        write_s=write_s,
        full_at=full_at,
        cpu_s=cpu_s,
        failed=len(result.files) - len(ok) + events.retries,
        start=start,
        drops=drops,
        throttled=result.counts.throttled,
    )


def report(m: Measured, workers: int) -> None:
    per_file = (m.wall - m.ideal) * workers / m.files if m.files else float("nan")
    verdict = "ok" if m.ratio >= TARGET else "BELOW TARGET"
    o = m.session_overhead
    print(f"  [{m.label}] {m.files} files, {m.audio_s:.1f} s audio: wall {m.wall:.2f} s, ideal (LPT) "
          f"{m.ideal:.2f} s, lower bound {m.bound:.2f} s -> ideal/wall {m.ratio:.3f} ({verdict}); "
          f"per-file overhead {per_file:.3f} s")  # fmt: skip
    print(f"      session overhead (transcribe - duration/speed): median {statistics.median(o):.3f} s, "
          f"min {min(o):.3f}, max {max(o):.3f}; outputs+ledger after the session: median "
          f"{statistics.median(m.write_s) * 1000:.0f} ms; concurrency from {m.start}, reached {workers} "
          f"at {'-' if m.full_at is None else f'{m.full_at:.2f} s'}, went down {m.drops}x "
          f"({m.throttled} throttling signals); CPU {m.cpu_s:.1f} s "
          f"({m.cpu_s / m.wall:.2f} cores); failed/retried {m.failed}")  # fmt: skip
    floor = m.floor_model - m.ideal
    ramp = m.ramp_model - m.floor_model
    runner_rest = m.runner_wall - m.ramp_model
    after = m.wall - m.runner_wall - m.before
    gap = m.wall - m.ideal
    print(f"      gap {gap:.2f} s = session floor {floor:.2f} + ramp-up {ramp:.2f} + rest in runner "
          f"{runner_rest:.2f} + before the first file (plan, probe) {m.before:.2f} + after the last "
          f"(report, close) {after:.2f}")  # fmt: skip


def make_recordings(folder: Path, files: int, low: float, high: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    seconds = [round(float(s), 2) for s in rng.uniform(low, high, files)]
    for i, s in enumerate(seconds):
        write_wav(folder / f"rec{i:03d}.wav", burst_samples(seed * 1000 + i, s))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--min-seconds", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--speed", type=float, default=4.0, help="emulator: times real time")
    parser.add_argument(
        "--send-rate", type=float, default=100.0, help="sdk_send_rate: SDK send throttle in times real time"
    )
    parser.add_argument("--runs", type=int, default=1, help="repetitions (fresh output folder each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-ramp-baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run each time with the limiter starting at --workers",
    )
    parser.add_argument(
        "--emulator",
        choices=("process", "thread"),
        default="process",
        help="emulator in its own process (like a remote service) or in this one",
    )
    args = parser.parse_args()

    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        inputs = Path(tmp) / "recordings"
        seconds = make_recordings(inputs, args.files, args.min_seconds, args.max_seconds, args.seed)
        print(f"{args.files} recordings, {min(seconds):.1f}-{max(seconds):.1f} s, {sum(seconds):.1f} s "
              f"audio; {args.workers} workers; emulator at {args.speed:g}x real time ({args.emulator}); "
              f"SDK send rate {args.send_rate:g}x; target ideal/wall >= {TARGET}")  # fmt: skip
        summary: dict[str, object] = {}
        with emulator_endpoint(args, summary) as endpoint:
            warm = Path(tmp) / "warm"  # load the SDK and FFmpeg before the clock starts
            write_wav(warm / "w.wav", burst_samples(1, 2.0))
            run_batch(RunSettings(inputs=(warm,), out=Path(tmp) / "warm-out", endpoint=endpoint,
                                           sdk_send_rate=args.send_rate), events=Events(0.0))  # fmt: skip
            for n in range(args.runs):
                print(f"run {n + 1}/{args.runs}")
                m = run_once("as is", inputs, Path(tmp) / f"out-{n}", endpoint, args)
                report(m, args.workers)
                ratios.append(m.ratio)
                if args.no_ramp_baseline:
                    b = run_once("no ramp", inputs, Path(tmp) / f"out-{n}-noramp", endpoint, args)
                    report(b, args.workers)
                    print(f"      measured cost of the ramp: {m.wall - b.wall:+.2f} s wall")
        if summary:
            print(f"emulator: {summary.get('sessions')} sessions, {summary.get('rejected')} rejected, "
                  f"{summary.get('protocol_errors')} protocol errors, "
                  f"{summary.get('replayed_seconds', 0.0):.1f} s replayed audio, "
                  f"{summary.get('cpu_s', 0.0):.1f} s CPU")  # fmt: skip
    if len(ratios) > 1:
        print(f"ideal/wall over {len(ratios)} runs: min {min(ratios):.3f}, median "
              f"{statistics.median(ratios):.3f}, max {max(ratios):.3f}")  # fmt: skip
    return 0 if ratios and min(ratios) >= TARGET else 1


@contextmanager
def emulator_endpoint(args: argparse.Namespace, summary: dict[str, object]) -> Iterator[Endpoint]:
    if args.emulator == "process":
        with emulator_process(speed=args.speed) as (url, totals):
            yield Endpoint(kind="emulator", key="emulator", url=url)
        summary.update(totals)
    else:
        from batchscribe.emulator import Emulator

        with Emulator(speed=args.speed) as emulator:
            yield Endpoint(kind="emulator", key="emulator", url=emulator.url)


if __name__ == "__main__":
    sys.exit(main())
