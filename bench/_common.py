"""Helpers shared by the benchmarks: synthetic speech-like audio, an emulator in its own process,
and what ``/proc`` says about a process (RSS, threads, open file descriptors).

Not a benchmark itself (the leading underscore keeps it apart from ``bench_*.py``).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from batchscribe.emulator.synth import RATE, burst_samples, write_wav  # noqa: E402

__all__ = ["RATE", "burst_samples", "write_wav"]


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
