"""Azurite, the Blob Storage emulator from npm, as a child process of one run
(``batchscribe run --emulate --engine batch`` without ``--storage``).

``running_azurite()`` starts ``azurite-blob`` in memory on a free 127.0.0.1 port (telemetry and
access logs off), reads the port it says it listens on, and stops it when the block ends: normally,
on an error, on Ctrl-C or SIGTERM (it runs in its own session, so the terminal's Ctrl-C reaches
batchscribe only, which stops it in order). When batchscribe itself dies without a chance to
clean up (``kill -9``), Linux kills Azurite too: it is started with ``PR_SET_PDEATHSIG``
(SIGKILL), set between fork and exec (the parent's death is tied to the thread that started it,
which is the one that stops it). Nothing is written to disk: its storage is in memory, and it runs
in the temporary folder so that nothing it might write lands in the user's.

Its account is Azurite's published development account (its README): not a secret.
``azurite-blob`` missing is a ``UsageError`` saying how to install it, or to give ``--storage``.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from batchscribe.errors import UsageError

COMMAND = "azurite-blob"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ARGUMENTS = (
    "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", "0",
    "--skipApiVersionCheck", "--disableTelemetry", "--silent",
)  # fmt: skip
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_LISTENING = re.compile(r"listens on https?://[^:\s]+:(\d+)")
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class AzuriteBlob:
    """A running Azurite's blob service: where it listens, and the connection string to it."""

    port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


def missing() -> UsageError:
    return UsageError(
        f"--emulate --engine batch needs Azurite, the Blob Storage emulator: {COMMAND} is not on PATH",
        hint="npm install -g azurite, or give --storage",
    )


@contextmanager
def running_azurite(*, start_timeout_s: float = START_TIMEOUT_S) -> Iterator[AzuriteBlob]:
    """Azurite started for the block, stopped when it ends (however it ends)."""
    command = shutil.which(COMMAND)
    if command is None:
        raise missing()
    try:
        process = _start(command)
    except OSError as exc:  # not executable, its interpreter (node) missing
        raise UsageError(
            f"Azurite (the Blob Storage emulator) cannot be started: {exc.strerror or exc}",
            hint="check that `azurite-blob --version` works (npm install -g azurite), or give --storage",
        ) from exc
    said = _Output(process)
    try:
        port = said.port(start_timeout_s)
        if port is None:
            how = (
                "stopped before it listened" if said.ended else f"did not start within {start_timeout_s:g} s"
            )
            raise UsageError(
                f"Azurite (the Blob Storage emulator) {how}: {said.last() or 'it said nothing'}",
                hint="check that `azurite-blob --version` works, or give --storage",
            )
        yield AzuriteBlob(port)
    finally:
        _stop(process)
        said.close()


def _start(command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [command, *ARGUMENTS],
        cwd=tempfile.gettempdir(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # the terminal's Ctrl-C is for batchscribe, which stops it in order
        preexec_fn=_dies_with_parent(),  # prctl only (resolved before the fork)
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


class _Output:
    """Azurite's output, read on a thread (a full pipe would block it): the port it says it
    listens on, and its last lines for a start that failed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._lines: collections.deque[str] = collections.deque(maxlen=5)
        self._ports: list[int] = []
        self._said = threading.Event()
        self.ended = False  # its output ended (it stopped)
        self._reader = threading.Thread(target=self._read, name="batchscribe-azurite-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line.strip())
            if not self._ports and (match := _LISTENING.search(line)):
                self._ports.append(int(match.group(1)))
                self._said.set()
        self.ended = True
        self._said.set()

    def port(self, timeout_s: float) -> int | None:
        self._said.wait(timeout_s)
        return self._ports[0] if self._ports else None

    def last(self) -> str:
        return next((line for line in reversed(self._lines) if line), "")

    def close(self) -> None:
        self._reader.join(STOP_TIMEOUT_S)  # the process has ended: so does its output
        if self._process.stdout is not None:
            self._process.stdout.close()


def _dies_with_parent() -> Callable[[], None] | None:
    """Between fork and exec: ask Linux to SIGKILL the child when batchscribe dies (and kill it
    at once if batchscribe died before the request was made). None where there is no prctl."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        prctl = ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request: nobody would stop it
            os.kill(os.getpid(), signal.SIGKILL)

    return set_death_signal
