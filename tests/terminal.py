"""Run ``python -m batchscribe`` in a pseudo-terminal, as a person at a shell does.

Most tests pipe the output, which takes the plain (non-terminal) path of every renderer; this one
gives the child a real terminal of a chosen width, so the live view and rich tables run too.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    raw: str  # as the terminal got it, escape sequences included

    @property
    def text(self) -> str:
        """What a person reads: escape sequences and carriage returns removed."""
        return ANSI.sub("", self.raw)


def run_in_terminal(*args: str, env: dict[str, str], columns: int = 120, timeout: float = 120) -> TerminalRun:
    """``python -m batchscribe ARGS`` with stdin, stdout and stderr on a ``columns``-wide terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**env, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "batchscribe", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                raise TimeoutError(f"batchscribe {' '.join(args)} ran over {timeout} s in a terminal")
            ready, _, _ = select.select([master], [], [], remaining)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other end closed it
                break
            if not data:
                break
            chunks.append(data)
        returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return TerminalRun(returncode, b"".join(chunks).decode("utf-8", "replace"))
