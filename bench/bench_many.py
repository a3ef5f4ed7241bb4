#!/usr/bin/env python3
"""Many files: plan time, time to the first session, RSS over the run, idle rerun (issue 14 point 7).

Writes ``--files`` sparse 16-bit mono 16 kHz PCM WAVs (a 44-byte header declaring ``--seconds``
of samples, the rest a hole: probing reads the header only) in folders of 1,000, then, against an
engine that answers at once (no service: this measures batchscribe, not the SDK):

1. ``plan_run`` on the new folder: what ``batchscribe plan`` computes, and what a run waited for
   before its first session until planning streamed (the "before" of time to first session);
2. ``run_batch`` until its first session starts (then cancelled): time to first session now;
3. ``run_batch`` over every file, sampling RSS (VmRSS) after 1,000, 10,000 and all files;
4. ``run_batch`` again with everything done (idle rerun), and ``plan_run`` on the done folder.

Targets: first session within 1 s; RSS after all files within 10% (or 10 MB) of RSS after 1,000.

    python bench/bench_many.py [--files 100000] [--workers 16] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import mb, proc_status

from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.engines.fake import transcript_of
from batchscribe.planning.planner import plan_run
from batchscribe.results import FileResult, RunResult
from batchscribe.running.events import Fanout
from batchscribe.running.run import run_batch
from batchscribe.state.ledger import Ledger

RATE = 16000
FIRST_SESSION_S = 1.0
RSS_SLACK = 0.10
RSS_SLACK_MB = 10.0


def wav_header(seconds: float) -> bytes:
    data = int(seconds * RATE) * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
            + b"data" + struct.pack("<I", data))  # fmt: skip


def make_folder(root: Path, files: int, seconds: float) -> None:
    header = wav_header(seconds)
    size = len(header) + int(seconds * RATE) * 2
    for n in range(files):
        folder = root / f"d{n // 1000:03d}"
        if n % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"rec{n:06d}.wav").open("wb") as out:
            out.write(header)
            out.truncate(size)  # a hole: nothing on disk beyond the header's block


class InstantEngine:
    """Answers every session at once with one phrase; remembers nothing per file."""

    name = "instant"

    def __init__(self, on_first: threading.Event | None = None) -> None:
        self.first = on_first or threading.Event()
        self.first_at = 0.0
        self._transcript = transcript_of("hello there")

    def transcribe(self, request: RecognitionRequest, *, on_progress: ProgressCallback,
                   cancel: CancelToken) -> Transcript:  # fmt: skip
        if not self.first.is_set():
            self.first_at = time.perf_counter()
            self.first.set()
        on_progress(request.audio.duration_s)
        return self._transcript

    def close(self) -> None:
        pass


class RssSampler(Fanout):
    """Reads VmRSS when the 1,000th, 10,000th, ... file finishes."""

    def __init__(self, marks: list[int]) -> None:
        super().__init__([])
        self._marks = set(marks)
        self._done = 0
        self._lock = threading.Lock()
        self.rss: dict[int, int] = {}

    def file_finished(self, result: FileResult) -> None:
        with self._lock:
            self._done += 1
            if self._done in self._marks:
                self.rss[self._done] = proc_status().get("VmRSS", 0)


def settings_for(inputs: Path, out: Path, workers: int) -> RunSettings:
    return RunSettings(inputs=(inputs,), out=out, endpoint=Endpoint(kind="host", url="ws://bench"),
                       formats=("json",), workers=workers)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=0.5, help="declared length of each WAV")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="use (and keep) this folder instead of a temporary one")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-many-"))
    inputs, out, first_out = base / "in", base / "out", base / "out-first"
    try:
        if not inputs.is_dir():
            started = time.perf_counter()
            make_folder(inputs, args.files, args.seconds)
            print(f"wrote {args.files} sparse WAVs in {time.perf_counter() - started:.1f} s")
        for folder in (out, first_out):
            shutil.rmtree(folder, ignore_errors=True)
        settings = settings_for(inputs, out, args.workers)

        started = time.perf_counter()
        plan = plan_run(settings, rows={})
        plan_s = time.perf_counter() - started
        due = len(plan.items)
        del plan
        print(f"plan, new folder ({due} files due): {plan_s:.2f} s  (before: the wait for the first session)")

        engine = InstantEngine()
        cancel = CancelToken()
        threading.Thread(
            target=lambda: (engine.first.wait(), cancel.cancel("interrupted")), daemon=True
        ).start()
        started = time.perf_counter()
        run_batch(settings_for(inputs, first_out, args.workers), engine_factory=_factory(engine),
                  cancel=cancel, slow_start=False)  # fmt: skip
        first_s = engine.first_at - started
        print(f"time to first session: {first_s:.3f} s now vs {plan_s:.2f} s before "
              f"({plan_s / max(first_s, 1e-6):.0f}x sooner); target < {FIRST_SESSION_S:g} s")  # fmt: skip

        marks = sorted({m for m in (1000, 10_000, args.files) if m <= args.files})
        sampler = RssSampler(marks)
        started = time.perf_counter()
        result = run_batch(
            settings, engine_factory=_factory(InstantEngine()), events=sampler, slow_start=False
        )
        run_s = time.perf_counter() - started
        print(f"full run: {_succeeded(result)} files in {run_s:.1f} s ({run_s / args.files * 1000:.2f} ms/file), "
              f"{len(result.files)} results kept")  # fmt: skip
        for mark in marks:
            print(f"  RSS after {mark:>7} files: {mb(sampler.rss.get(mark, 0)):7.1f} MB")
        low, high = sampler.rss.get(marks[0], 0), sampler.rss.get(marks[-1], 0)
        growth = mb(high - low)
        per_1000 = growth / max(1, (marks[-1] - marks[0]) / 1000)
        rss_ok = high <= low * (1 + RSS_SLACK) or growth <= RSS_SLACK_MB
        print(
            f"  RSS growth {marks[0]} -> {marks[-1]} files: {growth:+.1f} MB ({per_1000:+.2f} MB per 1,000 files)"
        )
        del result

        started = time.perf_counter()
        idle = run_batch(settings, engine_factory=_factory(InstantEngine()), slow_start=False)
        idle_s = time.perf_counter() - started
        ledger = Ledger(out, read_only=True)
        started = time.perf_counter()
        done_plan = plan_run(settings, rows=ledger.rows())
        done_plan_s = time.perf_counter() - started
        ledger.close()
        print(
            f"idle rerun ({idle.counts.skipped_done} done, {_succeeded(idle)} sent): {idle_s:.2f} s; "
            f"plan of the done folder: {done_plan_s:.2f} s ({done_plan.counts.skipped_done} done)"
        )
        ok = first_s < FIRST_SESSION_S and rss_ok and _succeeded(idle) == 0
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


def _succeeded(result: RunResult) -> int:
    counted = getattr(result, "succeeded_count", None)  # before issue 14 every result was kept
    return int(counted) if counted is not None else len(result.succeeded)


def _factory(engine: InstantEngine):  # type: ignore[no-untyped-def]
    def build(settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
        return engine  # type: ignore[return-value]

    return build


if __name__ == "__main__":
    sys.exit(main())
