"""``--engine batch`` end to end: the real HTTP clients (httpx, azure-storage-blob) against the
emulator's batch API and Azurite. Uploads go to Azurite, the emulator reads them through their
SAS URLs, results come back through their links and are written like every engine's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.running.run import run_batch
from tests.azurite import Azurite
from tests.conftest import KEY as CLI_KEY
from tests.conftest import Batchscribe, Recordings

KEY = "batch-test-key"


@pytest.fixture(name="emulator")
def emulator_fixture(emulator_for: Callable[..., Emulator], recordings: Recordings) -> Emulator:
    recordings.add("calls/a.wav", 1, "Good morning, this is the first call.")
    recordings.add("calls/b.wav", 2, "A second call about an invoice.")
    recordings.add("c.wav", 3, "The third one.")
    return emulator_for(recordings, key=KEY)


def _settings(recordings: Recordings, emulator: Emulator, tmp_path: Path, **batch: object) -> RunSettings:
    return RunSettings(
        inputs=(recordings.root,), out=tmp_path / "out",
        endpoint=Endpoint(kind="endpoint", url=emulator.rest_url, key=KEY),
        engine="batch", formats=("txt", "srt", "vtt", "json"),
        batch=BatchSettings(storage=f"c{uuid.uuid4().hex[:12]}", poll_interval_s=0.02, **batch),  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_batch_run_uploads_submits_collects_and_cleans_up(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    settings = _settings(recordings, emulator, tmp_path, batch_size=2)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (0, 3)
    document = json.loads((settings.out / "calls/b.wav.json").read_text())
    assert document["combinedRecognizedPhrases"][0]["display"] == "A second call about an invoice."
    assert document["batchscribe"]["engine"] == "azure-batch"
    assert (settings.out / "calls/b.wav.vtt").read_text().count("invoice") == 1
    assert emulator.batch.submitted == 2
    # Jobs deleted at the service, uploads removed from the container.
    stats = emulator.rest_stats().snapshot()
    assert sum(n for (pattern, status), n in stats.items() if status == 204) == 2
    assert azurite.blob_names(settings.batch.storage) == []


def test_no_wait_then_the_next_run_collects_and_keep_uploads_keeps_them(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    emulator.batch.faults.not_started_reads = 1  # the first poll finds the job not started
    settings = _settings(recordings, emulator, tmp_path, no_wait=True, keep_uploads=True)
    first = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (first.exit_code, first.succeeded_count) == (0, 0)
    assert "3 recording(s) pending" in first.at_service and not first.stop_reason
    assert emulator.batch.wait_idle()  # the night passes: the service works the job off
    second = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (second.exit_code, second.succeeded_count, emulator.batch.submitted) == (0, 3, 1)
    assert len(azurite.blob_names(settings.batch.storage)) == 3


def test_throttling_expired_links_and_a_failed_recording(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    settings = _settings(recordings, emulator, tmp_path)
    faults = emulator.batch.faults
    faults.throttle, faults.expire_links = 2, 1
    blob_of_c = None
    # c.wav's upload name is its content hash: fail the recording whose URL carries it.
    from batchscribe.audio import sha256_of

    blob_of_c = sha256_of(recordings.root / "c.wav")
    faults.fail_sources = (blob_of_c,)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count, result.failed_count) == (1, 2, 1)
    failure = result.failed[0].failure
    assert failure is not None and failure.sdk_code == "InvalidData" and failure.hint
    stats = emulator.rest_stats().snapshot()
    assert sum(n for (_, status), n in stats.items() if status == 429) == 2
    assert sum(n for (_, status), n in stats.items() if status == 403) == 1


def test_a_lost_job_is_submitted_again_and_stereo_with_diarization_is_refused_before_upload(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    from tests.conftest import burst_samples, write_wav

    write_wav(recordings.root / "stereo.wav", burst_samples(7, 2.0).repeat(2), channels=2)
    emulator.batch.faults.lose_jobs = 1
    settings = replace(_settings(recordings, emulator, tmp_path), options=RecognitionOptions(diarize=True))
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.succeeded_count, result.failed_count, emulator.batch.submitted) == (3, 1, 2)
    failure = result.failed[0].failure
    assert result.failed[0].source == "stereo.wav" and failure is not None
    assert "stereo" in failure.message
    assert len(azurite.blob_names(settings.batch.storage)) == 0


def test_the_cli_runs_a_nightly_no_wait_batch_and_says_what_is_pending(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path,
    batchscribe: Batchscribe,
) -> None:  # fmt: skip
    recordings.add("one.wav", 5, "Only one recording tonight.")
    emulator = emulator_for(recordings, key=CLI_KEY)
    emulator.batch.faults.not_started_reads = 1
    env = batchscribe.env(AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    args = ("run", str(recordings.root), "--out", str(tmp_path / "out"), "--engine", "batch",
            "--endpoint", emulator.rest_url, "--storage", "nightly", "--no-wait", "--poll-interval", "1s")  # fmt: skip
    first = batchscribe.run(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 recording(s) pending at the service" in first.stdout + first.stderr
    assert emulator.batch.wait_idle()
    second = batchscribe.run(*args, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    document = json.loads((tmp_path / "out" / "one.wav.json").read_text())
    assert document["combinedRecognizedPhrases"][0]["display"] == "Only one recording tonight."
    assert CLI_KEY not in first.stdout + first.stderr + second.stdout + second.stderr
    assert emulator.batch.submitted == 1


def test_doctor_checks_the_container_and_the_batch_endpoint(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    from batchscribe.doctor import batch_checks

    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    settings = _settings(recordings, emulator, tmp_path)
    checks = list(batch_checks(settings, env=env))
    assert [(c.name, c.ok) for c in checks] == [("storage", True), ("batch endpoint", True)], checks
    assert "SAS" in checks[0].detail and azurite.blob_names(settings.batch.storage) == []
    wrong = replace(settings, endpoint=replace(settings.endpoint, key="not-the-key-4711"))
    refused = list(batch_checks(wrong, env={}))
    assert [(c.name, c.ok) for c in refused] == [("storage", False), ("batch endpoint", False)]
    assert "AZURE_STORAGE_CONNECTION_STRING" in refused[0].detail
    assert "refused the credentials" in refused[1].detail and "4711" not in refused[1].detail


def test_plan_shows_uploads_jobs_and_what_is_pending_at_the_service(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    args = (
        "plan",
        str(recordings.root),
        "--out",
        str(tmp_path / "out"),
        "--engine",
        "batch",
        "--batch-size",
        "2",
    )
    before = batchscribe.run(*args)
    assert before.returncode == 0, before.stderr
    assert "batch: 3 upload(s) needed (at most 0.000 GB), 2 job(s)" in before.stdout
    assert "0 recording(s) already pending" in before.stdout
    emulator.batch.faults.not_started_reads = 10**6  # stays at the service
    settings = _settings(recordings, emulator, tmp_path, no_wait=True)
    run_batch(settings, job_engine_factory=azurite.batch_engines())
    after = batchscribe.run(*args)
    assert "batch: 0 upload(s) needed" in after.stdout and "3 recording(s) already pending" in after.stdout


def test_a_format_the_service_cannot_read_is_converted_once_and_uploaded_as_wav(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    from batchscribe.emulator.synth import encode_samples
    from tests.conftest import burst_samples

    samples = burst_samples(11, 4.0)
    wav = recordings.add("video.wav", 11, "Spoken in a video.", samples=samples)
    encode_samples(recordings.root / "video.mp4", samples, codec="aac", rate=16000)
    wav.unlink()
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, keep_uploads=True)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (0, 1), result.failed
    document = json.loads((settings.out / "video.mp4.json").read_text())
    assert document["combinedRecognizedPhrases"][0]["display"] == "Spoken in a video."
    (blob,) = azurite.blob_names(settings.batch.storage)
    assert blob.endswith(".wav")


def test_trusted_access_sends_plain_urls_and_a_container_the_service_cannot_read_says_why(
    recordings: Recordings, emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> None:
    # The service reads plain URLs with its managed identity; the emulator has none, so the
    # private container refuses it, as Azure does when the identity has no role on the container.
    settings = _settings(recordings, emulator, tmp_path, storage_access="trusted")
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.succeeded_count, result.failed_count) == (0, 3)
    failure = result.files[0].failure
    assert failure is not None and failure.sdk_code == "InvalidUri"
    assert "managed identity" in failure.hint and "--storage-access sas" in failure.hint
    assert "sig=" not in failure.detail  # a plain URL was read, not a SAS
    assert azurite.blob_names(settings.batch.storage) == []  # cleaned up all the same
