"""Helpers shared by the benchmarks: synthetic speech-like audio, an emulator in its own process,
and what ``/proc`` says about a process (RSS, threads, open file descriptors).

Not a benchmark itself (the leading underscore keeps it apart from ``bench_*.py``).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RATE = 16_000


def burst_samples(seed: int, seconds: float, rate: int = RATE) -> np.ndarray:
    """Speech-like bursts of noise separated by silences (as tests/integration/conftest.py)."""
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


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


# -- /proc -------------------------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM (bytes) and Threads from /proc/PID/status; {} once the process is gone."""
    wanted = {"VmRSS": 1024, "VmHWM": 1024, "Threads": 1}
    found: dict[str, int] = {}
    try:
        with Path(f"/proc/{pid}/status").open() as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in wanted:
                    found[name] = int(value.split()[0]) * wanted[name]
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return found


def open_fds(pid: int | str = "self") -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


# -- an emulator in its own process --------------------------------------------------------------


def _serve(conn: Connection, kwargs: dict[str, object]) -> None:
    from batchscribe.emulator import Emulator

    with Emulator(**kwargs) as emulator:  # type: ignore[arg-type]
        conn.send(emulator.url)
        conn.recv()  # anything (or EOF) means stop
        conn.send(_snapshot_summary(emulator))


def _snapshot_summary(emulator: object) -> dict[str, object]:
    snap = emulator.stats()  # type: ignore[attr-defined]
    return {
        "connections": snap.connections,
        "rejected": snap.rejected,
        "protocol_errors": snap.protocol_errors,
        "sessions": len(snap.sessions),
        "audio_seconds": sum(s.audio_seconds for s in snap.sessions.values()),
        "replayed_seconds": sum(s.replayed_seconds for s in snap.sessions.values()),
        "stalled": len(snap.stalled_sessions),
        "cpu_s": time.process_time(),  # the emulator process's CPU, start-up included
    }


@contextmanager
def emulator_process(**kwargs: object) -> Iterator[tuple[str, dict[str, object]]]:
    """An ``Emulator(**kwargs)`` in a spawned process, so its memory, threads, sockets and CPU
    are not the measured process's. Yields (url, summary); ``summary`` is filled in at exit with
    the emulator's totals (connections, sessions, audio seconds...)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, kwargs), name="bench-emulator", daemon=True)
    process.start()
    child.close()
    summary: dict[str, object] = {}
    try:
        if not parent.poll(30):
            raise RuntimeError("the emulator process did not start in 30 s")
        yield parent.recv(), summary
        parent.send("stop")
        if parent.poll(30):
            summary.update(parent.recv())
    finally:
        parent.close()
        process.join(15)
        if process.is_alive():
            process.terminate()
            process.join(5)
