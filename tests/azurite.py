"""Azurite, the Blob Storage emulator from npm, for the batch engine's tests: started on a free
127.0.0.1 port (in memory, telemetry off), stopped in ``finally``. Missing or not starting, the
tests that need it skip, and fail under ``CI=true`` (``.ci/run`` installs it).

``running_azurite(oauth=True)``: over HTTPS with Entra ID (``--oauth basic``: Azurite takes
bearer tokens only over HTTPS), its certificate made here for 127.0.0.1 (``ca_file``: what the
test's clients must trust; production code keeps verifying certificates). Its basic OAuth reads
a token as a JWT without checking the signature: ``storage_token`` makes one it accepts
(audience ``https://storage.azure.com``, issuer ``https://sts.windows.net/TENANT/``, iat, nbf
and exp around now; ``oid`` and ``tid`` sign the user-delegation key). User-delegation SAS of
azure-storage-blob 12.31 (service version 2026-10-06) verify from Azurite 3.36 on (older ones
sign an older string): the oauth mode needs that.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from batchscribe.config.settings import RunSettings
    from batchscribe.engines.jobs import JobEngine

# Azurite's published development account (its README): not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 30.0
OAUTH_SINCE = (3, 36)  # the first Azurite verifying azure-storage-blob 12.31's user-delegation SAS
STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT = "72f988bf-0000-4000-8000-000000000001"  # any GUID: Azurite checks the issuer's prefix
OBJECT_ID = "0b1f0000-0000-4000-8000-00000000cafe"


@dataclass(frozen=True)
class Azurite:
    port: int
    ca_file: Path | None = None  # HTTPS with Entra ID (``oauth=True``): its certificate

    @property
    def blob_endpoint(self) -> str:
        scheme = "https" if self.ca_file is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{ACCOUNT}"

    def container_url(self, container: str) -> str:
        """What ``--storage`` takes for Entra ID: the container's URL."""
        return f"{self.blob_endpoint}/{container}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.blob_endpoint};")  # fmt: skip

    @property
    def env(self) -> dict[str, str]:
        """Where a run with ``--storage NAME`` finds its credentials."""
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def batch_engines(self) -> Callable[[RunSettings], JobEngine]:
        """The real batch engine for a run's settings, its storage in this Azurite."""
        from batchscribe.resources.batch_setup import batch_engine

        return lambda settings: batch_engine(settings, env=self.env)

    def blob_names(self, container: str) -> list[str]:
        """The names of the container's blobs, sorted."""
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(self.connection_string)
        return sorted(b.name for b in service.get_container_client(container).list_blobs())


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Azurite is needed in CI: {reason}")
    pytest.skip(f"Azurite not available: {reason} (npm install -g azurite)")


@contextmanager
def running_azurite(*, oauth: bool = False) -> Iterator[Azurite]:
    command = shutil.which("azurite-blob")
    if command is None:
        _unavailable("azurite-blob is not on PATH")
    assert command is not None
    folder = tempfile.mkdtemp(prefix="batchscribe-azurite-")
    args = [command, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", "0",
            "--skipApiVersionCheck", "--disableTelemetry", "--silent"]  # fmt: skip
    ca_file = None
    if oauth:
        if (version := _version(command)) < OAUTH_SINCE:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable(
                f"Azurite {'.'.join(map(str, version))} cannot verify the user-delegation SAS "
                f"azure-storage-blob signs: {'.'.join(map(str, OAUTH_SINCE))} or later is needed"
            )
        ca_file, key_file = _self_signed(Path(folder))
        args += ["--oauth", "basic", "--cert", str(ca_file), "--key", str(key_file)]
    process = subprocess.Popen(args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader: list[threading.Thread] = []
    try:
        port = _listening_port(process, reader)
        if port is None:
            _unavailable("it did not say where it listens")
        assert port is not None
        yield Azurite(port, ca_file)
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


def _version(command: str) -> tuple[int, ...]:
    answer = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"(\d+)\.(\d+)", answer.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost) signed by its own key: (certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "batchscribe test Azurite")])
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "azurite-cert.pem", folder / "azurite-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def storage_token(lifetime: float = 3600.0, *, now: float | None = None) -> str:
    """A JWT-shaped Entra ID token for storage that Azurite's basic OAuth accepts (unsigned: it
    reads the claims without checking a signature)."""
    issued = int(time.time() if now is None else now) - 60

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"aud": STORAGE_AUDIENCE, "iss": f"https://sts.windows.net/{TENANT}/", "iat": issued,
              "nbf": issued, "exp": int(issued + 60 + lifetime), "oid": OBJECT_ID, "tid": TENANT}  # fmt: skip
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


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
