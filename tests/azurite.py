"""Azurite, the Blob Storage emulator from npm, for the batch engine's tests: started on a free
127.0.0.1 port (in memory, telemetry off), stopped in ``finally``. Missing or not starting, the
tests that need it skip, and fail under ``CI=true`` (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

# Azurite's published development account (its README): not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.blob_endpoint};")  # fmt: skip


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Azurite is needed in CI: {reason}")
    pytest.skip(f"Azurite not available: {reason} (npm install -g azurite)")


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    command = shutil.which("azurite-blob")
    if command is None:
        _unavailable("azurite-blob is not on PATH")
    assert command is not None
    folder = tempfile.mkdtemp(prefix="batchscribe-azurite-")
    process = subprocess.Popen(
        [command, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", "0",
         "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    reader: list[threading.Thread] = []
    try:
        port = _listening_port(process, reader)
        if port is None:
            _unavailable("it did not say where it listens")
        assert port is not None
        yield Azurite(port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for thread in reader:
            thread.join(10)  # its output ends with the process
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


def _listening_port(process: subprocess.Popen[str], reader: list[threading.Thread]) -> int | None:
    """The port from 'successfully listens on http://127.0.0.1:PORT', within the timeout."""
    found: list[int] = []
    said = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if match := re.search(r"listens on https?://[^:]+:(\d+)", line):
                found.append(int(match.group(1)))
                said.set()
        said.set()  # its output ended: it stopped

    reader.append(threading.Thread(target=read, name="azurite-log", daemon=True))
    reader[0].start()
    said.wait(START_TIMEOUT_S)
    return found[0] if found else None
