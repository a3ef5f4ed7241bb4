#!/usr/bin/env python3
"""Peak RSS of ``batchscribe run`` on a 3-hour MP3 against the emulator, vs. a 3-minute one.

Makes a 3-minute MP3 (speech-like bursts, 44.1 kHz mono, 64 kbit/s, PyAV/libmp3lame) and a
3-hour one whose MP3 frames are that pattern looped (remuxed, not re-encoded: seconds, not
minutes), then transcribes each in its own child process:

    python -m batchscribe run DIR --out OUT --host URL --sdk-send-rate R --workers 1 --quiet

(through ``bench/_peak.py``, which runs exactly that command in-process and writes its VmHWM at
exit) against an emulator answering at ``--speed`` times real time, in its own process by default
(``--emulator process``: the child's RSS is batchscribe + SDK + decoder only) or inside the child
(``--emulator inproc``: ``--emulate --emulator-speed``, the whole product in one process). /proc is
polled to show the child's RSS over the run. (``ru_maxrss`` from ``wait4`` is not used: Linux
carries the parent's peak over fork+exec into it.) Both transcripts are checked: their JSON
phrases must reach the end of the audio with no hole longer than ``--max-gap`` seconds.

Target (issue): peak under 200 MB for the 3-hour file, and within 1.2x of the 3-minute peak.

    python bench/bench_memory.py [--long-hours 3] [--speed 1000] [--send-rate 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import av
from _common import ROOT, burst_samples, emulator_process, mb, proc_status

from batchscribe.emulator.synth import encode_samples

LIMIT_MB = 200.0
RATIO = 1.2
TICKS = 10_000_000


def encode_mp3(path: Path, seconds: float, rate: int, bit_rate: int, seed: int) -> None:
    encode_samples(
        path,
        burst_samples(seed, seconds, rate),
        codec="libmp3lame",
        rate=rate,
        container_format="mp3",
        bit_rate=bit_rate,
    )


def loop_mp3(source: Path, target: Path, times: int) -> None:
    """``times`` copies of ``source``'s MP3 frames back to back, timestamps shifted."""
    with av.open(str(source)) as src:
        packets = [p for p in src.demux(audio=0) if p.size]
        template = src.streams.audio[0]
        span = sum(p.duration for p in packets)
        with av.open(str(target), "w", format="mp3") as out:
            stream = out.add_stream_from_template(template)
            for n in range(times):
                for p in packets:
                    p.stream = stream
                    base = p.pts - packets[0].pts
                    p.pts = p.dts = base + n * span + packets[0].pts
                    out.mux(p)
                    p.pts = p.dts = base + packets[0].pts  # restore for the next copy


@dataclass
class ChildRun:
    label: str
    audio_s: float
    wall: float
    peak: int  # bytes: the child's VmHWM at exit (bench/_peak.py)
    cpu_s: float  # the child's user + system CPU
    samples: list[tuple[float, int]]  # (seconds, VmRSS bytes)
    code: int
    stderr: str
    stdout: str


def run_child(label: str, folder: Path, out: Path, audio_s: float, url: str | None,
              args: argparse.Namespace) -> ChildRun:  # fmt: skip
    report = out.with_name(out.name + ".peak")
    command = [sys.executable, str(Path(__file__).with_name("_peak.py")), str(report), "run", str(folder), "--out", str(out),
               "--workers", "1", "--quiet", "--formats", "json",
               "--sdk-send-rate", f"{args.send_rate:g}"]  # fmt: skip
    if url is None:
        command += ["--emulate", "--emulator-speed", f"{args.speed:g}"]
    else:
        command += ["--host", url]
    env = {k: v for k, v in os.environ.items() if k not in ("SPEECH_KEY", "AZURE_AI_SPEECH_KEY")}
    with tempfile.TemporaryFile("w+") as err, tempfile.TemporaryFile("w+") as std:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=std, stderr=err, env=env)
        samples: list[tuple[float, int]] = []
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = proc_status(child.pid).get("VmRSS")
            if rss:
                samples.append((time.perf_counter() - started, rss))
            if time.perf_counter() - started > args.timeout:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(args.poll)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        err.seek(0)
        std.seek(0)
        peak = int(report.read_text()) if report.is_file() else max((r for _, r in samples), default=0)
        return ChildRun(label, audio_s, wall, peak, usage.ru_utime + usage.ru_stime, samples,
                        child.returncode, err.read()[-2000:], std.read()[-2000:])  # fmt: skip


def check_transcript(out: Path, name: str, audio_s: float, max_gap: float) -> tuple[bool, str]:
    found = list(out.rglob(f"{name}.json"))
    if not found:
        return False, "no JSON transcript written"
    document = json.loads(found[0].read_text())
    phrases = sorted(
        (p["offsetInTicks"] / TICKS, (p["offsetInTicks"] + p["durationInTicks"]) / TICKS)
        for p in document["recognizedPhrases"]
    )
    if not phrases:
        return False, "the transcript has no phrases"
    end = max(e for _, e in phrases)
    gaps, reach = [phrases[0][0]], phrases[0][1]
    for start, stop in phrases[1:]:
        gaps.append(start - reach)
        reach = max(reach, stop)
    gaps.append(audio_s - end)
    words = sum(len(p["nBest"][0].get("display", "").split()) for p in document["recognizedPhrases"])
    ok = end >= audio_s - max_gap and max(gaps) <= max_gap
    return ok, (f"{len(phrases)} phrases, {words} words, last ends at {end:.1f} s of {audio_s:.1f} s "
                f"({end / audio_s:.4f}), longest hole {max(gaps):.2f} s")  # fmt: skip


def describe(run: ChildRun) -> str:
    curve = ""
    if run.samples:
        picks = [
            run.samples[min(len(run.samples) - 1, int(f * len(run.samples)))]
            for f in (0.1, 0.25, 0.5, 0.75, 0.99)
        ]
        curve = ", ".join(f"{t:.0f}s {mb(r):.0f}" for t, r in picks)
    return (f"  {run.label:7} {run.audio_s / 60:7.1f} min audio in {run.wall:6.1f} s "
            f"({run.audio_s / run.wall:5.0f}x real time, {run.cpu_s / run.wall:.2f} cores), exit {run.code}, "
            f"peak RSS {mb(run.peak):6.1f} MB; "
            f"RSS MB over time: {curve}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short-minutes", type=float, default=3.0)
    parser.add_argument("--long-hours", type=float, default=3.0)
    parser.add_argument("--speed", type=float, default=1000.0, help="emulator: times real time")
    parser.add_argument("--send-rate", type=float, default=1000.0, help="--sdk-send-rate for the child")
    parser.add_argument("--emulator", choices=("process", "inproc"), default="process")
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--bit-rate", type=int, default=64_000)
    parser.add_argument(
        "--max-gap", type=float, default=30.0, help="longest hole allowed in the transcript (s)"
    )
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between /proc samples")
    parser.add_argument("--timeout", type=float, default=1800.0, help="kill a child after this many seconds")
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        root = Path(tmp)
        short_s = args.short_minutes * 60
        times = max(1, round(args.long_hours * 3600 / short_s))
        (root / "short").mkdir()
        (root / "long").mkdir()
        t = time.perf_counter()
        encode_mp3(root / "short" / "talk.mp3", short_s, args.sample_rate, args.bit_rate, seed=3)
        loop_mp3(root / "short" / "talk.mp3", root / "long" / "talk.mp3", times)
        from batchscribe.audio import probe

        short_info, long_info = probe(root / "short" / "talk.mp3"), probe(root / "long" / "talk.mp3")
        size = (root / "long" / "talk.mp3").stat().st_size
        print(f"made {short_info.duration_s:.0f} s and {long_info.duration_s:.0f} s MP3s "
              f"({args.sample_rate} Hz mono, {args.bit_rate // 1000} kbit/s; {size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.1f} s; emulator {args.emulator} at {args.speed:g}x, SDK send rate "
              f"{args.send_rate:g}x; target peak < {LIMIT_MB:g} MB and <= {RATIO}x the short file's")  # fmt: skip

        totals: dict[str, object] = {}
        context = emulator_process(speed=args.speed) if args.emulator == "process" else nullcontext(None)
        with context as served:
            url = served[0] if served else None
            runs = {}
            for label, folder, info in (
                ("short", root / "short", short_info),
                ("long", root / "long", long_info),
            ):
                run = run_child(label, folder, root / f"out-{folder.name}", info.duration_s, url, args)
                print(describe(run))
                if run.code != 0:
                    print(f"    child failed: {run.stderr.strip() or run.stdout.strip()}")
                    ok = False
                good, detail = check_transcript(
                    root / f"out-{folder.name}", "talk.mp3", info.duration_s, args.max_gap
                )
                print(f"    transcript: {detail} -> {'complete' if good else 'INCOMPLETE'}")
                ok = ok and good
                runs[label] = run
            if served:
                totals = served[1]
        if totals:
            print(f"  emulator: {totals.get('sessions')} sessions, {totals.get('connections')} connections, "
                  f"{float(totals.get('audio_seconds', 0.0)):.0f} s audio received, "
                  f"{float(totals.get('replayed_seconds', 0.0)):.0f} s replayed, "
                  f"{float(totals.get('cpu_s', 0.0)):.0f} s CPU")  # fmt: skip

    short_peak, long_peak = runs["short"].peak, runs["long"].peak
    ratio = long_peak / short_peak
    under = mb(long_peak) < LIMIT_MB
    close = ratio <= RATIO
    late = [r for _, r in runs["long"].samples[len(runs["long"].samples) // 2 :]]
    if late:
        print(f"  long file's RSS, second half of the run: median {mb(statistics.median(late)):.1f} MB, "
              f"max {mb(max(late)):.1f} MB")  # fmt: skip
    print(f"peak RSS long ({args.long_hours:g} h) {mb(long_peak):.1f} MB ({'ok' if under else 'OVER'} < "
          f"{LIMIT_MB:g} MB), short ({args.short_minutes:g} min) {mb(short_peak):.1f} MB, ratio {ratio:.3f} ({'ok' if close else 'OVER'} <= {RATIO})")  # fmt: skip
    return 0 if ok and under and close else 1


if __name__ == "__main__":
    sys.exit(main())
