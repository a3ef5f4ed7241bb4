#!/usr/bin/env python3
"""``--engine fast`` against the emulator's fast transcription API, in its own process.

1. A folder: ``--files`` WAVs of 20-60 s (fixed seed) through ``run_batch`` with ``--workers``
   requests at once, the emulator answering each request ``audio / --speed`` seconds after it
   arrived. Ideal = total audio / (speed x requests at once); target wall / ideal **<= 1.15**.
2. Recording length: ``--short-minutes``, ``--mid-hours`` and ``--long-hours`` WAVs (the long
   one over the fast API's 2 h limit, so it is cut at pauses into parts, sent from the file itself
   and stitched; the others sent as they are), each through ``python -m batchscribe run --engine
   fast --endpoint URL`` in a child process (``bench/_peak.py``: its VmHWM at exit; CPU from
   ``wait4``). Targets: the long file's peak RSS **< 200 MB** and **<= 1.35x** the short one's
   (what grows is the transcript, held whole to write its JSON: the emulator's bursts make a
   phrase every 1.6 s), and its CPU-s per audio hour **<= 1.5x** the mid one's (the short one's is
   mostly start-up). Every transcript must reach the end of the audio.

    python bench/bench_fast.py [--files 48] [--workers 8] [--speed 10] [--long-hours 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from _common import ROOT, burst_samples, mb, proc_status, write_wav
from bench_memory import ChildRun, check_transcript

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator.fast_api import PATH
from batchscribe.running.run import run_batch

WALL_TARGET, RSS_RATIO, RSS_LIMIT_MB, CPU_RATIO = 1.15, 1.35, 200.0, 1.5
KEY = "bench-key-0123456789abcdef"


def _serve(conn: Connection, speed: float) -> None:
    from batchscribe.emulator import Emulator

    with Emulator(speed=speed, key=KEY) as emulator:
        conn.send(emulator.rest_url)
        conn.recv()
        conn.send({"requests": emulator.rest_stats().snapshot(), "cpu_s": time.process_time()})


@contextmanager
def fast_emulator(speed: float) -> Iterator[tuple[str, dict[str, object]]]:
    """The emulator's REST side in a spawned process; yields (url, totals filled in at exit)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, speed), daemon=True)
    process.start()
    child.close()
    totals: dict[str, object] = {}
    try:
        if not parent.poll(30):
            raise RuntimeError("the emulator process did not start in 30 s")
        yield parent.recv(), totals
        parent.send("stop")
        if parent.poll(60):
            totals.update(parent.recv())
    finally:
        parent.close()
        process.join(15)
        if process.is_alive():
            process.terminate()


def folder_run(root: Path, args: argparse.Namespace) -> bool:
    folder = root / "folder"
    rng = random.Random(7)
    total = 0.0
    for index in range(args.files):
        seconds = rng.uniform(20, 60)
        write_wav(folder / f"call-{index:03d}.wav", burst_samples(index + 1, seconds))
        total += seconds
    ideal = total / (args.speed * args.workers)
    with fast_emulator(args.speed) as (url, totals):
        settings = RunSettings(inputs=(folder,), out=root / "out-folder", engine="fast", workers=args.workers,
                               endpoint=Endpoint(kind="endpoint", key=KEY, url=url), settle_seconds=0,
                               formats=("json",))  # fmt: skip
        started, cpu = time.perf_counter(), time.process_time()
        result = run_batch(settings)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    ok = result.succeeded_count == args.files and result.failed_count == 0
    ratio = wall / ideal
    requests = totals.get("requests", {})
    answered = requests.get((PATH, 200), 0) if isinstance(requests, dict) else 0
    print(f"folder: {args.files} files, {total / 60:.1f} min audio, {args.workers} requests at once, "
          f"emulator {args.speed:g}x: wall {wall:.2f} s, ideal {ideal:.2f} s, wall/ideal {ratio:.3f} "
          f"({'ok' if ratio <= WALL_TARGET else 'OVER'} <= {WALL_TARGET}); {answered} requests answered, "
          f"peak {result.counts.peak_concurrency} at once; batchscribe CPU {cpu:.1f} s "
          f"({cpu / (total / 3600):.1f} CPU-s per audio hour), emulator CPU {float(totals.get('cpu_s', 0.0)):.1f} s"
          f"{'' if ok else '; FILES FAILED'}")  # fmt: skip
    return ok and ratio <= WALL_TARGET


def child_run(label: str, folder: Path, out: Path, audio_s: float, url: str, timeout: float) -> ChildRun:
    report = out.with_name(out.name + ".peak")
    command = [sys.executable, str(Path(__file__).with_name("_peak.py")), str(report), "run", str(folder),
               "--out", str(out), "--engine", "fast", "--endpoint", url, "--workers", "2", "--quiet",
               "--formats", "json"]  # fmt: skip
    env = {**os.environ, "SPEECH_KEY": KEY, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as err, tempfile.TemporaryFile("w+") as std:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=std, stderr=err, env=env)
        samples: list[tuple[float, int]] = []
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if (rss := proc_status(child.pid).get("VmRSS")) is not None:
                samples.append((time.perf_counter() - started, rss))
            if time.perf_counter() - started > timeout:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.25)
        wall = time.perf_counter() - started
        err.seek(0)
        std.seek(0)
        peak = int(report.read_text()) if report.is_file() else max((r for _, r in samples), default=0)
        return ChildRun(label, audio_s, wall, peak, usage.ru_utime + usage.ru_stime, samples,
                        os.waitstatus_to_exitcode(status), err.read()[-2000:], std.read()[-2000:])  # fmt: skip


def length_runs(root: Path, args: argparse.Namespace) -> bool:
    lengths = {"short": args.short_minutes * 60, "mid": args.mid_hours * 3600, "long": args.long_hours * 3600}
    for label, seconds in lengths.items():
        write_wav(root / label / "talk.wav", burst_samples(3, seconds))
    runs: dict[str, ChildRun] = {}
    ok = True
    with fast_emulator(args.long_speed) as (url, totals):
        for label, seconds in lengths.items():
            out = root / f"out-{label}"
            run = child_run(label, root / label, out, seconds, url, args.timeout)
            good, detail = check_transcript(out, "talk.wav", seconds, 30.0)
            per_hour = run.cpu_s / (seconds / 3600)
            sending = sorted(r for _, r in run.samples[len(run.samples) // 4 : len(run.samples) * 3 // 4])
            median = sending[len(sending) // 2] if sending else 0
            print(f"  {label:5} {seconds / 60:7.1f} min audio in {run.wall:6.1f} s, exit {run.code}, peak RSS "
                  f"{mb(run.peak):6.1f} MB (median {mb(median):.1f} MB mid-run), CPU {run.cpu_s:5.1f} s = "
                  f"{per_hour:5.1f} CPU-s per audio hour; {detail}")  # fmt: skip
            if run.code != 0:
                print(f"    child failed: {run.stderr.strip() or run.stdout.strip()}")
            ok = ok and good and run.code == 0
            runs[label] = run
    requests = totals.get("requests", {})
    print(f"  emulator: {requests}")
    short, mid, long = runs["short"], runs["mid"], runs["long"]
    rss_ratio = long.peak / short.peak
    under = mb(long.peak) < RSS_LIMIT_MB
    cpu_ratio = (long.cpu_s / lengths["long"]) / (mid.cpu_s / lengths["mid"])
    print(f"length: peak RSS long {mb(long.peak):.1f} MB ({'ok' if under else 'OVER'} < {RSS_LIMIT_MB:g}), "
          f"long/short {rss_ratio:.3f} ({'ok' if rss_ratio <= RSS_RATIO else 'OVER'} <= {RSS_RATIO}); "
          f"CPU-s per audio hour long/mid {cpu_ratio:.3f} ({'ok' if cpu_ratio <= CPU_RATIO else 'OVER'} <= "
          f"{CPU_RATIO})")  # fmt: skip
    return ok and under and rss_ratio <= RSS_RATIO and cpu_ratio <= CPU_RATIO


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--workers", type=int, default=8, help="requests at once")
    parser.add_argument("--speed", type=float, default=10.0, help="emulator: times real time")
    parser.add_argument("--short-minutes", type=float, default=3.0)
    parser.add_argument("--mid-hours", type=float, default=1.0)
    parser.add_argument("--long-hours", type=float, default=3.0)
    parser.add_argument("--long-speed", type=float, default=200.0, help="emulator speed for the length runs")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--skip", choices=("folder", "length"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_fast_") as tmp:
        root = Path(tmp)
        ok = True
        if args.skip != "folder":
            ok = folder_run(root, args) and ok
        if args.skip != "length":
            ok = length_runs(root, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
