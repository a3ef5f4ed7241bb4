#!/usr/bin/env python3
"""Long recordings split into chunks (issue 13): wall times against the baselines, in one run.

Against an emulator in its own process answering at ``--speed`` times real time, with the SDK
sending at the same rate (``sdk_send_rate``), so a session of ``d`` seconds of audio takes about
``d / speed`` seconds, as on the service at 2x:

1. Heavy-tailed folder: ``--calls`` short calls (20-40 s) and ``--meetings`` long meetings
   (``--meeting-minutes``), ``--workers`` workers:
   - a hand-written thread pool (``ThreadPoolExecutor``, one bare SDK session per file, folder
     order: the calls sort before the meetings);
   - ``run_batch`` (split auto).
   Targets: batchscribe / pool <= 0.5, and batchscribe / ideal <= 1.3 where ideal =
   total audio / (workers x send rate).
2. One ``--single-minutes`` recording, same workers: ``run_batch`` split auto vs. one session
   (``--split off``). Target: split / one session <= 0.25.

    python bench/bench_long.py [--speed 20] [--workers 8] [--calls 40] [--meetings 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from _common import burst_samples, emulator_process, write_wav
from bench_cpu import bare_session

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.running.run import run_batch

POOL_TARGET, IDEAL_TARGET, SINGLE_TARGET = 0.5, 1.3, 0.25


def make(folder: Path, name: str, seconds: float, seed: int) -> float:
    write_wav(folder / name, burst_samples(seed, seconds))
    return seconds


def timed_batch(settings: RunSettings) -> float:
    started = time.perf_counter()
    result = run_batch(settings)
    wall = time.perf_counter() - started
    if result.exit_code != 0 or len(result.succeeded) != len(result.files):
        raise RuntimeError(f"run_batch failed: exit {result.exit_code}, {result.aborted}")
    return wall


def timed_pool(url: str, folder: Path, workers: int, rate: float) -> float:
    files = sorted(folder.iterdir())
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda p: bare_session(url, p, rate), files))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--meetings", type=int, default=2)
    parser.add_argument("--meeting-minutes", type=float, default=20.0)
    parser.add_argument("--single-minutes", type=float, default=20.0)
    args = parser.parse_args()
    rate, workers = args.speed, args.workers

    with tempfile.TemporaryDirectory(prefix="bench-long-") as tmp, \
            emulator_process(speed=rate) as (url, _summary):  # fmt: skip
        root = Path(tmp)
        folder, single = root / "folder", root / "single"
        folder.mkdir()
        single.mkdir()
        total = sum(make(folder, f"call-{n:02d}.wav", 20 + (n * 7) % 21, n) for n in range(args.calls))
        total += sum(make(folder, f"meeting-{n}.wav", args.meeting_minutes * 60, 100 + n)
                     for n in range(args.meetings))  # fmt: skip
        single_s = make(single, "recording.wav", args.single_minutes * 60, 200)
        base = RunSettings(inputs=(folder,), out=root / "out-folder", endpoint=Endpoint(kind="host", url=url),
                           workers=workers, sdk_send_rate=rate, formats=("json",))  # fmt: skip

        pool_wall = timed_pool(url, folder, workers, rate)
        batch_wall = timed_batch(base)
        one_wall = timed_batch(replace(base, inputs=(single,), out=root / "out-one", split="off"))
        split_wall = timed_batch(replace(base, inputs=(single,), out=root / "out-split"))

    ideal = total / (workers * rate)
    print(f"heavy-tailed folder: {args.calls} calls + {args.meetings} x {args.meeting_minutes:g} min, "
          f"{total / 3600:.2f} h audio, {workers} workers, send rate {rate:g}x")  # fmt: skip
    print(f"  hand-written pool (folder order) {pool_wall:7.1f} s")
    print(f"  batchscribe (split auto)         {batch_wall:7.1f} s")
    print(f"  ideal total/(workers x rate)     {ideal:7.1f} s")
    print(f"  batchscribe / pool  = {batch_wall / pool_wall:.2f}  (target <= {POOL_TARGET})")
    print(f"  batchscribe / ideal = {batch_wall / ideal:.2f}  (target <= {IDEAL_TARGET})")
    print(f"single {args.single_minutes:g}-minute recording ({single_s:.0f} s), {workers} workers:")
    print(f"  one session (--split off)        {one_wall:7.1f} s")
    print(f"  split auto                       {split_wall:7.1f} s")
    print(f"  split / one session = {split_wall / one_wall:.2f}  (target <= {SINGLE_TARGET})")
    ok = (batch_wall / pool_wall <= POOL_TARGET and batch_wall / ideal <= IDEAL_TARGET
          and split_wall / one_wall <= SINGLE_TARGET)  # fmt: skip
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
