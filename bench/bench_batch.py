#!/usr/bin/env python3
"""``--engine batch`` at scale (issue 20 point 8): 10,000 recordings against Azurite and the
emulator's batch API, in their own processes.

1. Plain azure-storage-blob upload loops over the same recordings, just before each run, into a
   container of their own (deleted again before the run, so that Azurite holds as many blobs
   when the run uploads as when the loop did): one ``upload_blob`` after another (the baseline),
   and the same with as many threads as a run uploads with (``UPLOAD_THREADS``): what a run's
   upload path costs beyond the bare uploads (hashing, naming, intents, progress, reserve and
   submit), like for like.
2. ``run_jobs`` over the folder (jobs of ``--batch-size``, poll interval 0.5 s): the time to the
   first submit, upload throughput (recordings uploaded per second of upload phases, hashing
   included), polls (list calls) per job and peak RSS; first with ``--small`` recordings, then
   with all of them: peak RSS must stay flat in the number of recordings. Each run goes in a
   process of its own and its peak is the kernel's high-water mark (VmHWM) from its start: in one
   process, the second run's peak also held what the plain loops and the first run left behind
   (10,000 recordings: 132 MB in the bench's process, 125 MB alone).

The emulator takes a job from its queue at the first status read, which a run makes once every
job is submitted: the uploads do not compete with its work for this machine's CPU (the service
is elsewhere), so their throughput compares with the plain loop's.

Targets: first submit within 5 s; upload throughput at least the plain (one after another) loop's
over the same recordings, at both sizes; peak RSS with all
recordings within 10% (or 15 MB) of the small run's; every recording transcribed.

    python bench/bench_batch.py [--files 10000] [--small 1000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from _common import mb, proc_status

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator.scripts import ScriptPhrase, Transcripts, make_entry
from batchscribe.emulator.synth import RATE, burst_samples, write_wav
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.resources.batch_setup import batch_engine
from batchscribe.running import jobs
from batchscribe.running.job_run import run_jobs
from batchscribe.running.job_uploads import UPLOAD_THREADS
from tests.azurite import running_azurite

KEY = "bench-batch-key"
SECONDS = 1.0
FIRST_SUBMIT_S = 5.0
RSS_SLACK, RSS_SLACK_MB = 0.10, 15.0


PATTERNS = 10  # distinct sounds the emulator has scripts for


def make_folder(root: Path, files: int) -> None:
    """Short recordings (1 s), each its own bytes (one of ``PATTERNS`` sounds plus its own
    least-significant-bit noise, which the emulator's fingerprint does not hear), 1,000 a folder."""
    rng = np.random.default_rng(7)
    bases = [burst_samples(seed, SECONDS) for seed in range(1, PATTERNS + 1)]
    for n in range(files):
        noise = rng.integers(-1, 2, bases[0].size, dtype=np.int16)
        write_wav(root / f"d{n // 1000:03d}" / f"r{n:06d}.wav", bases[n % PATTERNS] + noise)


def scripts(path: Path) -> Path:
    """What the emulator says for each pattern: scripted text, so no result is a placeholder (a
    placeholder is a warning, and a warned file keeps its row in the run's result)."""
    transcripts = Transcripts()
    for seed in range(1, PATTERNS + 1):
        samples = burst_samples(seed, SECONDS).astype(np.float32) / 32768
        transcripts = transcripts.with_entry(make_entry(
            entry_id=f"pattern-{seed}", source="", samples=samples, sample_rate=RATE,
            phrases=[ScriptPhrase(text=f"Pattern number {seed} speaking.")],
        ))  # fmt: skip
    transcripts.save(path)
    return path


def _serve_emulator(conn: Connection, transcripts: Path) -> None:
    from batchscribe.emulator import Emulator

    with Emulator(key=KEY, transcripts=transcripts) as emulator:
        conn.send(emulator.rest_url)
        conn.recv()


def plain_upload_loop(root: Path, connection_string: str, *, threads: int = 1) -> float:
    """Recordings per second of bare ``upload_blob`` calls over ``root``'s recordings, one after
    another or in ``threads`` threads, into a container of their own (deleted afterwards)."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(connection_string)
    container = service.get_container_client(f"baseline{threads}x{time.monotonic_ns() % 10**9}")
    container.create_container()
    files = sorted(root.rglob("*.wav"))

    def put(path: Path) -> None:
        with path.open("rb") as data:
            container.upload_blob(path.name, data)

    started = time.perf_counter()
    if threads == 1:
        for path in files:
            put(path)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, files))
    elapsed = time.perf_counter() - started
    container.delete_container()
    return len(files) / elapsed


def baselines(root: Path, connection_string: str) -> tuple[float, float]:
    """The plain loop over ``root``: one after another, and with a run's upload threads."""
    one = plain_upload_loop(root, connection_string)
    threaded = plain_upload_loop(root, connection_string, threads=UPLOAD_THREADS)
    print(f"plain azure-storage-blob loop over {root.name}: {one:.0f} uploads/s one after another, "
          f"{threaded:.0f}/s in {UPLOAD_THREADS} threads", flush=True)  # fmt: skip
    return one, threaded


def fresh_batch_run(*args: object) -> dict[str, float]:
    """``batch_run`` in a process of its own, so that its peak RSS (the kernel's high-water mark,
    VmHWM) is the run's alone: not raised by the plain loops or by a run of another size before it."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as child:
        return child.submit(batch_run, *args).result()


def batch_run(
    root: Path, out: Path, rest_url: str, connection_string: str, batch_size: int
) -> dict[str, float]:
    settings = RunSettings(
        inputs=(root,), out=out, endpoint=Endpoint(kind="endpoint", url=rest_url, key=KEY), engine="batch",
        batch=BatchSettings(storage=f"bench{time.monotonic_ns() % 10**9}", batch_size=batch_size,
                            poll_interval_s=0.5),
    )  # fmt: skip
    upload_s = [0.0]
    original = jobs.JobDriver.flush

    def timed_flush(self: jobs.JobDriver) -> None:  # uploads, then one reserve and one submit
        started = time.perf_counter()
        original(self)
        upload_s[0] += time.perf_counter() - started

    jobs.JobDriver.flush = timed_flush  # type: ignore[method-assign]
    env = {"AZURE_STORAGE_CONNECTION_STRING": connection_string}
    started = time.monotonic()
    try:
        result, driver = run_jobs(settings, engine_factory=lambda s: batch_engine(s, env=env),
                                  run_id=f"bench-{time.monotonic_ns()}")  # fmt: skip
    finally:
        jobs.JobDriver.flush = original  # type: ignore[method-assign]
    assert driver is not None
    files = result.succeeded_count
    job_count = driver.jobs_made
    return {
        "files": files, "failed": result.failed_count, "wall_s": time.monotonic() - started,
        "first_submit_s": (driver.first_submit_at or started) - started, "upload_per_s": files / upload_s[0],
        "jobs": job_count, "polls": driver.polls, "polls_per_job": driver.polls / max(job_count, 1),
        "peak_rss": proc_status()["VmHWM"],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("spawn").Process(
        target=_serve_emulator, args=(child, scripts(work / "scripts.yaml")), daemon=True
    )
    try:
        print(f"making {args.files} recordings and {args.small} for the small run ...", flush=True)
        make_folder(work / "all", args.files)
        make_folder(work / "small", args.small)
        emulator.start()
        rest_url = parent.recv()
        with running_azurite() as azurite:
            small_base = baselines(work / "small", azurite.connection_string)
            small = fresh_batch_run(work / "small", work / "out-small", rest_url, azurite.connection_string,
                              args.batch_size)  # fmt: skip
            print(f"batch run, {args.small} recordings: {small}", flush=True)
            full_base = baselines(work / "all", azurite.connection_string)
            full = fresh_batch_run(
                work / "all", work / "out-all", rest_url, azurite.connection_string, args.batch_size
            )
            print(f"batch run, {args.files} recordings: {full}", flush=True)
    finally:
        parent.send("stop")
        emulator.join(30)
        shutil.rmtree(work, ignore_errors=True)
    ratios = []
    for label, run, (one, threaded) in ((args.small, small, small_base), (args.files, full, full_base)):
        ratios.append(run["upload_per_s"] / one)
        print(f"upload throughput, {label} recordings: {run['upload_per_s']:.0f}/s, {ratios[-1]:.2f}x the "
              f"plain loop's {one:.0f}/s, {run['upload_per_s'] / threaded:.2f}x the {UPLOAD_THREADS}-thread "
              f"loop's {threaded:.0f}/s")  # fmt: skip
    growth = full["peak_rss"] - small["peak_rss"]
    flat = growth <= max(RSS_SLACK * small["peak_rss"], RSS_SLACK_MB * 1e6)
    print(f"first submit after {full['first_submit_s']:.2f} s (target {FIRST_SUBMIT_S:g} s)")
    print(f"polls: {full['polls']} list calls for {args.files // args.batch_size} jobs "
          f"({full['polls_per_job']:.2f} per job)")  # fmt: skip
    print(f"peak RSS: {mb(small['peak_rss']):.0f} MB with {args.small}, {mb(full['peak_rss']):.0f} MB with "
          f"{args.files} ({'flat' if flat else 'GROWS'})")  # fmt: skip
    ok = (full["files"] == args.files and small["files"] == args.small and min(ratios) >= 1.0 and flat
          and full["first_submit_s"] <= FIRST_SUBMIT_S)  # fmt: skip
    print("target met" if ok else "target NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
