"""The run lock: an ``flock`` on ``_state/run.lock``, so one run at a time uses an output folder.

The kernel drops the lock when its process dies, so a lock left by a dead process is taken over
without any staleness guess; the file holds who has it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from batchscribe.errors import LockHeldError, RunAbortedError
from batchscribe.outputs.layout import OutFolder


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str
    since: str


class RunLock:
    """An exclusive, crash-safe lock on an output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.path = OutFolder(out_dir).lock_path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise RunAbortedError(
                f"cannot create the lock file {self.path}: {exc.strerror}",
                hint="check that --out is writable",
            ) from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_holder(handle)
            handle.close()
            who = f"pid {holder.pid} on {holder.host} since {holder.since}" if holder else "another process"
            raise LockHeldError(
                f"another batchscribe run is using {self.path.parent.parent} ({who})"
            ) from None
        handle.seek(0)
        handle.truncate()
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
        handle.write(json.dumps(info))
        handle.flush()
        self._file = handle

    @staticmethod
    def _read_holder(handle: IO[str]) -> LockInfo | None:
        try:
            handle.seek(0)
            data = json.loads(handle.read() or "{}")
            return LockInfo(int(data["pid"]), str(data["host"]), str(data["since"]))
        except (ValueError, KeyError, OSError):
            return None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
