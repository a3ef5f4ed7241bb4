"""``--engine batch`` with Microsoft Entra ID: the Speech resource signed in with bearer tokens
(its custom domain: the emulator's REST side), the container by its URL over HTTPS (Azurite with
``--oauth basic``), the service reading the recordings through user-delegation SAS URLs. One
credential serves both, as azure-identity's ``DefaultAzureCredential`` would: the real clients
(httpx, azure-storage-blob) ask it for their scopes."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import BlobServiceClient

from batchscribe.audio import probe, sha256_of
from batchscribe.config.entra import SCOPE as SPEECH_SCOPE
from batchscribe.config.entra import TokenProvider
from batchscribe.config.resource import Resource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator
from batchscribe.emulator.auth import EXPIRED_TOKEN, BearerTokens
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.errors import UsageError
from batchscribe.report.writer import report_run
from batchscribe.resources.batch_setup import batch_engine
from batchscribe.running.run import run_batch
from tests.azurite import OBJECT_ID, Azurite, storage_token
from tests.conftest import Batchscribe, Recordings

STORAGE_SCOPE = "https://storage.azure.com/.default"
SPEECH_KEY = "only-this-key-0123456789"  # the emulator takes this key or a token it issued
# A container URL nothing answers at: a credential that cannot sign in fails before any request.
NO_STORAGE = "https://127.0.0.1:9/devstoreaccount1"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class EntraId:
    """One credential for both services: Speech tokens the emulator accepts (each for
    ``lifetime`` s on ``clock``), JWT-shaped storage tokens Azurite accepts; ``fail``: raise."""

    def __init__(self, speech: BearerTokens | None, *, lifetime: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.speech, self.lifetime, self.clock = speech, lifetime, clock
        self.scopes: list[tuple[str, ...]] = []
        self.speech_tokens: list[str] = []
        self.storage_tokens: list[str] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes)
            if self.fail is not None:
                raise self.fail
            if scopes == (STORAGE_SCOPE,):
                token = storage_token(self.lifetime)
                self.storage_tokens.append(token)
                return AccessToken(token, int(time.time() + self.lifetime))
            token = f"speech-{secrets.token_hex(12)}"
            if self.speech is not None:
                self.speech.accept(token, lifetime=self.lifetime)
            self.speech_tokens.append(token)
            return AccessToken(token, int(self.clock() + self.lifetime))


def _entra_endpoint(emulator: Emulator, tokens: TokenProvider | None = None) -> Endpoint:
    """The emulator's REST side as a resource's custom domain, signing in with Entra ID."""
    resource = Resource("endpoint", emulator.rest_url, entra=True, label="speech")
    return Endpoint(kind="endpoint", url=emulator.rest_url, resource=resource, tokens=tokens)


def _settings(recordings: Recordings, endpoint: Endpoint, storage: str, out: Path) -> RunSettings:
    return RunSettings(inputs=(recordings.root,), out=out, endpoint=endpoint, engine="batch",
                       formats=("json", "txt"), batch=BatchSettings(storage=storage, poll_interval_s=0.02))  # fmt: skip


def _statuses(emulator: Emulator) -> list[int]:
    return [status for (_, status), n in emulator.rest_stats().snapshot().items() for _ in range(n)]


def _everything_written(out: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def _container(name_hint: str) -> str:
    return f"{name_hint}{uuid.uuid4().hex[:10]}"


def test_a_batch_run_signs_in_with_entra_id_to_speech_and_storage_and_never_shows_a_secret(
    recordings: Recordings, emulator_for: Callable[..., Emulator], trust_azurite: Azurite, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    recordings.add("calls/a.wav", 1, "Good morning, signed in without a key.")
    recordings.add("b.wav", 2, "The second call, read through a delegation URL.")
    emulator = emulator_for(recordings, key=SPEECH_KEY, tokens=BearerTokens())
    assert emulator.tokens is not None
    credential = EntraId(emulator.tokens)
    container = _container("entra")
    out = tmp_path / "out"
    settings = _settings(recordings, _entra_endpoint(emulator), trust_azurite.container_url(container), out)
    caplog.set_level(logging.DEBUG)  # every logger, azure-core's requests included

    result = run_batch(settings, credential=credential, report=report_run)

    assert (result.exit_code, result.succeeded_count, result.aborted) == (0, 2, ""), result.failed
    assert (out / "b.wav.txt").read_text().strip() == "The second call, read through a delegation URL."
    assert (out / "calls" / "a.wav.txt").read_text().strip() == "Good morning, signed in without a key."
    # One credential, asked for both scopes; every REST call carried a token the emulator took.
    assert set(credential.scopes) == {(SPEECH_SCOPE,), (STORAGE_SCOPE,)}
    assert credential.speech_tokens and credential.storage_tokens
    assert 401 not in _statuses(emulator) and emulator.batch.submitted == 1
    # The service was given user-delegation SAS URLs over HTTPS, and read the audio through them.
    urls = emulator.batch.content_urls
    assert len(urls) == 2
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        assert url.startswith(f"{trust_azurite.blob_endpoint}/{container}/")
        assert query["skoid"] == [OBJECT_ID] and query["sp"] == ["r"] and query["sig"]
    # Uploads removed once the results were saved.
    service = BlobServiceClient(trust_azurite.blob_endpoint, credential=credential)
    assert list(service.get_container_client(container).list_blobs()) == []
    # No signature, no token in the log, the transcripts, the report or the state.
    signatures = [parse_qs(urlsplit(url).query)["sig"][0] for url in urls]
    seen = caplog.text.encode() + _everything_written(out)
    for secret in [*signatures, *credential.speech_tokens, *credential.storage_tokens]:
        assert secret.encode() not in seen and quote(secret, safe="").encode() not in seen


def test_every_rest_call_asks_for_the_current_token_so_hours_of_polling_outlive_the_first(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    path = recordings.add("long-wait.wav", 3, "Collected hours after it was submitted.")
    clock = Clock()
    emulator = emulator_for(recordings, key=SPEECH_KEY, tokens=BearerTokens(clock=clock))
    assert emulator.tokens is not None
    credential = EntraId(emulator.tokens, clock=clock)
    tokens = TokenProvider(credential, clock=clock)
    settings = _settings(recordings, _entra_endpoint(emulator, tokens), _container("poll"), tmp_path / "out")
    engine = batch_engine(settings, env={"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string})
    try:
        sha256 = sha256_of(path)
        upload = f"entra/{engine.content_name(path, sha256, probe(path))}"
        engine.upload(path, upload, probe(path), sha256=sha256)
        job_id = engine.submit("batchscribe entra test", [upload])
        first = credential.speech_tokens[-1]
        clock.now += 2 * 3600  # polled for two hours: the first token expired at the service
        assert emulator.tokens.refusal(first) == EXPIRED_TOKEN
        assert engine.statuses([job_id])[job_id].state in ("Running", "Succeeded")
        assert emulator.batch.wait_idle()
        assert engine.statuses([job_id])[job_id].state == "Succeeded"
        (result,) = list(engine.results(job_id, [upload]))
        assert result.transcript is not None and "hours after" in result.transcript.text
    finally:
        engine.close()
    assert len(credential.speech_tokens) == 2 and 401 not in _statuses(emulator)


def test_a_rejected_token_stops_the_run_in_one_line_without_the_token(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    recordings.add("a.wav", 4, "Never transcribed.")
    emulator = emulator_for(recordings, key=SPEECH_KEY, tokens=BearerTokens())
    credential = EntraId(None)  # its tokens are not the emulator's: refused (401)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    settings = _settings(recordings, _entra_endpoint(emulator), _container("refused"), tmp_path / "out")
    result = run_batch(settings, credential=credential)
    assert result.exit_code == 3 and result.succeeded_count == 0
    assert "refused the credentials (401" in result.aborted and "\n" not in result.aborted
    assert credential.speech_tokens and not any(t in result.aborted for t in credential.speech_tokens)
    assert emulator.batch.submitted == 0


def test_a_storage_credential_that_cannot_sign_in_stops_the_run_in_one_line(
    recordings: Recordings, emulator_for: Callable[..., Emulator], tmp_path: Path
) -> None:
    recordings.add("a.wav", 5, "Never uploaded.")
    emulator = emulator_for(recordings, key=SPEECH_KEY)
    credential = EntraId(None)
    credential.fail = ClientAuthenticationError(
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
        "Attempted credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication unavailable."
    )
    endpoint = Endpoint(kind="endpoint", url=emulator.rest_url, key=SPEECH_KEY)
    storage = f"{NO_STORAGE}/nosignin"
    result = run_batch(_settings(recordings, endpoint, storage, tmp_path / "out"), credential=credential)
    assert result.exit_code == 3 and "\n" not in result.aborted
    assert result.aborted.startswith("Entra ID sign-in for storage failed: DefaultAzureCredential failed")
    assert credential.scopes == [(STORAGE_SCOPE,)] and emulator.batch.submitted == 0


def test_a_container_url_over_plain_http_is_refused_as_a_usage_error(
    recordings: Recordings, emulator_for: Callable[..., Emulator], tmp_path: Path
) -> None:
    recordings.add("a.wav", 9, "Never uploaded in clear.")
    emulator = emulator_for(recordings, key=SPEECH_KEY)
    endpoint = Endpoint(kind="endpoint", url=emulator.rest_url, key=SPEECH_KEY)
    settings = _settings(recordings, endpoint, "http://127.0.0.1:9/devstoreaccount1/calls", tmp_path / "out")
    with pytest.raises(UsageError, match="tokens go only over https") as refused:
        run_batch(settings, credential=EntraId(None))
    assert "https://ACCOUNT.blob.core.windows.net/CONTAINER" in refused.value.hint


def test_the_cli_says_in_one_line_that_storage_sign_in_failed_and_exits_3(
    recordings: Recordings, emulator_for: Callable[..., Emulator], tmp_path: Path, batchscribe: Batchscribe
) -> None:
    recordings.add("a.wav", 6, "Never uploaded either.")
    emulator = emulator_for(recordings, key=SPEECH_KEY)
    # DefaultAzureCredential limited to the Azure CLI credential, with no az to find: it fails at
    # once, without any network (no managed-identity probe).
    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    env = batchscribe.env(
        SPEECH_KEY=SPEECH_KEY, AZURE_TOKEN_CREDENTIALS="AzureCliCredential", PATH=str(no_tools)
    )
    done = batchscribe.run("run", str(recordings.root), "--out", str(tmp_path / "out"), "--engine", "batch",
                           "--endpoint", emulator.rest_url, "--storage", f"{NO_STORAGE}/nightly",
                           env=env)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "Entra ID sign-in for storage failed" in said and "Storage Blob Data Contributor" in said
    # Said once, in one line: no traceback, no dozen lines of azure-identity's log per credential.
    assert "Traceback" not in said and "Attempted credentials" not in said


def test_doctor_probes_storage_and_the_batch_endpoint_with_entra_id(
    recordings: Recordings, emulator_for: Callable[..., Emulator], trust_azurite: Azurite, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from batchscribe.doctor import batch_checks

    recordings.add("a.wav", 7, "Not transcribed by doctor.")
    emulator = emulator_for(recordings, key=SPEECH_KEY, tokens=BearerTokens())
    assert emulator.tokens is not None
    credential = EntraId(emulator.tokens)
    container = _container("doctor")
    settings = _settings(
        recordings, _entra_endpoint(emulator), trust_azurite.container_url(container), tmp_path
    )
    caplog.set_level(logging.DEBUG)  # as with --verbose: every HTTP client's log
    checks = list(batch_checks(settings, credential=credential))
    assert [(c.name, c.ok) for c in checks] == [("storage", True), ("batch endpoint", True)], checks
    # The probe read through its SAS URL, which httpx logs: never with the signature.
    assert "sig=***" in caplog.text and not re.search(r"sig=(?!\*\*\*|REDACTED)", caplog.text)
    assert "read through a SAS URL" in checks[0].detail
    assert "Entra ID token was accepted" in checks[1].detail
    assert set(credential.scopes) == {(SPEECH_SCOPE,), (STORAGE_SCOPE,)}
    service = BlobServiceClient(trust_azurite.blob_endpoint, credential=credential)
    assert list(service.get_container_client(container).list_blobs()) == []
    # A token the endpoint rejects, and a resource addressed by region (no custom domain).
    refused = list(batch_checks(settings, credential=EntraId(None)))
    assert [(c.name, c.ok) for c in refused] == [("storage", True), ("batch endpoint", False)]
    assert "Entra ID token was rejected" in refused[1].detail and "Speech User" in refused[1].hint
    resource_id = "/subscriptions/0/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/speech"
    by_id = Resource("region", "westeurope", entra=True, resource_id=resource_id)
    region = Endpoint(kind="region", region="westeurope", resource=by_id)
    by_region = replace(settings, endpoint=region)
    assert "custom domain" in list(batch_checks(by_region, credential=credential))[1].detail
    with pytest.raises(UsageError, match="custom domain"):
        run_batch(by_region, credential=credential)


def test_plan_refuses_entra_id_with_a_region_as_run_does(
    recordings: Recordings, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    recordings.add("a.wav", 8, "Planned only.")
    jobs = tmp_path / "jobs.yaml"
    resource_id = "/subscriptions/S/resourceGroups/G/providers/Microsoft.CognitiveServices/accounts/speech"
    jobs.write_text(
        f"jobs:\n  calls:\n    inputs: [{recordings.root}]\n    out: {tmp_path / 'out'}\n"
        f"    engine: batch\n    storage: recordings\n"
        f"    resources:\n      - {{region: westeurope, entra: true, resource_id: {resource_id}}}\n"
    )
    done = batchscribe.run("plan", "--jobs", str(jobs))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Entra ID sign-in needs the resource's custom domain with --engine batch" in done.stderr
