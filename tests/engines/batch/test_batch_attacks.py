"""``--engine batch`` attacked: recordings changing underneath an upload, storage settings that
are wrong, and a batch service that misbehaves. Real clients (httpx, azure-storage-blob)
against Azurite and the emulator; a misbehaving service is a real local HTTP server."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from batchscribe.audio import AudioInfo, sha256_of
from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.engines.jobs import JobEngine
from batchscribe.resources.batch_setup import batch_engine
from batchscribe.running.run import run_batch
from batchscribe.state.job_store import JobStore
from tests.azurite import Azurite
from tests.conftest import Recordings

KEY = "batch-attack-key"


def _settings(recordings: Recordings, emulator: Emulator, tmp_path: Path, **batch: object) -> RunSettings:
    return RunSettings(
        inputs=(recordings.root,), out=tmp_path / "out",
        endpoint=Endpoint(kind="endpoint", url=emulator.rest_url, key=KEY),
        engine="batch", formats=("txt", "json"),
        batch=BatchSettings(storage=f"c{uuid.uuid4().hex[:12]}", poll_interval_s=0.02, **batch),  # type: ignore[arg-type]
    )  # fmt: skip


def _blobs(azurite: Azurite, container: str) -> dict[str, bytes]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container_client = service.get_container_client(container)
    return {b.name: container_client.download_blob(b.name).readall() for b in container_client.list_blobs()}


class _ChangedBeforeUpload:
    """The batch engine, with one recording rewritten after it was hashed and before its upload
    (a recorder still writing it, a user replacing it): the moment a real run cannot control."""

    def __init__(self, engine: Any, path: Path, new_bytes: bytes) -> None:
        self._engine, self._path, self._new_bytes = engine, path, new_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def upload(self, path: Path, name: str, audio: AudioInfo, progress: Any = None, *, sha256: str) -> None:
        if path == self._path and self._new_bytes:
            path.write_bytes(self._new_bytes)
            self._new_bytes = b""
        self._engine.upload(path, name, audio, progress, sha256=sha256)


def test_a_recording_changed_between_hashing_and_upload_never_leaves_other_bytes_under_its_hash(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    original = recordings.add("a.wav", 1, "Alpha speaks first.")
    other = recordings.add("b.wav", 2, "Bravo speaks second.")
    original_bytes = original.read_bytes()
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, keep_uploads=True)

    def changing(run_settings: RunSettings) -> JobEngine:
        engine = batch_engine(run_settings, env=azurite.env)
        return _ChangedBeforeUpload(engine, original, other.read_bytes())  # type: ignore[return-value]

    first = run_batch(settings, job_engine_factory=changing)
    failed = {r.source: r.failure for r in first.failed}
    assert set(failed) == {"a.wav"} and failed["a.wav"] is not None, first.failed
    assert failed["a.wav"].code == "changed_during_upload"
    for name, data in _blobs(azurite, settings.batch.storage).items():  # every blob is what its name says
        assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[-1].split(".")[0], name
    # The next night: a.wav (now Bravo's bytes) and a copy of the old a.wav, same hash as before.
    (recordings.root / "copy.wav").write_bytes(original_bytes)
    second = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert second.failed_count == 0, second.failed
    assert "Alpha speaks first." in (settings.out / "copy.wav.txt").read_text()
    assert "Bravo speaks second." in (settings.out / "a.wav.txt").read_text()


def test_a_recording_that_grew_or_shrank_under_the_upload_is_removed_not_trusted(
    tmp_path: Path, azurite: Azurite
) -> None:
    from batchscribe.engines.batch.storage import BlobStore, ChangedError

    store = BlobStore.open(f"c{uuid.uuid4().hex[:12]}", access="sas", env=azurite.env)
    path = tmp_path / "r.wav"
    path.write_bytes(b"first bytes " * 1000)
    expected = sha256_of(path)
    path.write_bytes(b"first bytes " * 1000 + b"and a tail written later")
    with pytest.raises(ChangedError):
        store.upload(path, f"{expected}.wav", sha256=expected)
    assert not store.exists(f"{expected}.wav")
    path.write_bytes(b"first bytes " * 1000)
    assert store.upload(path, f"{expected}.wav", sha256=expected)
    assert sorted(_blobs(azurite, store.container.container_name)) == [f"{expected}.wav"]


def test_a_recording_changed_before_its_conversion_is_not_uploaded_under_the_old_hash(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    from batchscribe.emulator.synth import encode_samples
    from tests.conftest import burst_samples

    first, second = burst_samples(21, 3.0), burst_samples(22, 3.0)
    recordings.add("first.wav", 21, "The first video.", samples=first).unlink()
    recordings.add("second.wav", 22, "The second video.", samples=second).unlink()
    video = recordings.root / "video.mp4"
    encode_samples(video, first, codec="aac", rate=16000)
    replacement = tmp_path / "second.mp4"
    encode_samples(replacement, second, codec="aac", rate=16000)
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, keep_uploads=True)

    def changing(run_settings: RunSettings) -> JobEngine:
        engine = batch_engine(run_settings, env=azurite.env)
        return _ChangedBeforeUpload(engine, video, replacement.read_bytes())  # type: ignore[return-value]

    result = run_batch(settings, job_engine_factory=changing)
    assert [(r.source, r.failure.code if r.failure else "") for r in result.files] == [
        ("video.mp4", "changed_during_upload")
    ]
    assert _blobs(azurite, settings.batch.storage) == {}


def test_hostile_names_go_through_upload_job_results_and_outputs(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    import os

    names = [
        "new\nline.wav",
        "100%25 sure.wav",
        "a#b.wav",
        "why?.wav",
        "ünïcødé 通话.wav",
        "l" * 200 + ".wav",
    ]
    for seed, name in enumerate(names, start=30):
        recordings.add(name, seed, f"Recording {seed} is here.")
    raw = os.fsdecode(b"caf\xe9.wav")  # not UTF-8: Latin-1 bytes from an old share
    recordings.add(raw, 40, "Recording 40 is here.")
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, batch_size=3)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (0, 7), result.failed
    for seed, name in [*enumerate(names, start=30), (40, raw)]:
        assert f"Recording {seed} is here." in (settings.out / f"{name}.txt").read_text(), name
    assert _blobs(azurite, settings.batch.storage) == {}


def test_jobs_are_named_after_the_run_even_when_two_end_with_the_same_recording(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    recordings.add("1-a.wav", 51, "First of all.")
    same = recordings.add("2-b.wav", 52, "The same bytes twice.")
    recordings.add("3-c.wav", 53, "Third in line.")
    (recordings.root / "4-d.wav").write_bytes(same.read_bytes())  # a copy ends the second job too
    emulator = emulator_for(recordings, key=KEY)
    emulator.batch.faults.not_started_reads = 10**6  # the jobs stay at the service: in the job store
    settings = _settings(recordings, emulator, tmp_path, batch_size=2, no_wait=True)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.aborted) == (0, ""), result.aborted
    assert "4 recording(s) pending" in result.at_service
    store = JobStore(settings.out)
    try:
        names = sorted(job.name for job in store.jobs())
    finally:
        store.close()
    assert names == [f"batchscribe {result.run_id} job 1", f"batchscribe {result.run_id} job 2"]


class _StorageGoesAway:
    """The batch engine, with storage stopped just before the first upload (Azurite killed)."""

    def __init__(self, engine: Any, stop: Callable[[], None]) -> None:
        self._engine, self._stop, self._stopping = engine, stop, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def upload(self, path: Path, name: str, audio: AudioInfo, progress: Any = None, *, sha256: str) -> None:
        with self._stopping:  # every upload starts once storage is gone (stopping it again: nothing)
            self._stop()
        self._engine.upload(path, name, audio, progress, sha256=sha256)


def test_storage_gone_mid_run_fails_the_rest_at_once_instead_of_waiting_out_retries_for_each(
    recordings: Recordings, emulator_for: Callable[..., Emulator], tmp_path: Path
) -> None:
    import contextlib

    from batchscribe.engines.base import RecognitionOptions
    from batchscribe.engines.batch.client import BatchClient
    from batchscribe.engines.batch.engine import BatchJobEngine
    from batchscribe.engines.batch.storage import BlobStore
    from tests.azurite import running_azurite

    for seed in range(20):
        recordings.add(f"r{seed:02}.wav", 60 + seed, seconds=1.0)
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path)
    attempts: list[str] = []
    with contextlib.ExitStack() as stack:
        azurite = stack.enter_context(running_azurite())
        # The storage client's own retries off (they take 90 s per upload against a dead port):
        # what is counted is how often each recording still tries a storage that is gone.
        service = BlobServiceClient.from_connection_string(
            azurite.connection_string,
            retry_total=0,
            raw_request_hook=lambda r: attempts.append(r.http_request.url),
        )
        key = azurite.connection_string.split("AccountKey=")[1].split(";")[0]
        store = BlobStore(service, settings.batch.storage, access="sas", account_key=key)
        store.ensure()
        client = BatchClient(f"{emulator.rest_url}/speechtotext", {"Ocp-Apim-Subscription-Key": KEY})
        engine = BatchJobEngine(
            client, store, RecognitionOptions(), channels_separate=False, name="azure-batch"
        )
        result = run_batch(settings, job_engine_factory=lambda s: _StorageGoesAway(engine, stack.close))  # type: ignore[arg-type,return-value]
    assert (result.exit_code, result.failed_count) == (1, 20), result
    assert {r.failure.code for r in result.failed if r.failure} == {"storage_unreachable"}
    uploads_tried = len(attempts) - 1  # the container's creation first
    assert uploads_tried <= 8, uploads_tried  # at most the uploads already in flight (8 threads)


class _InterruptedAtUpload:
    """The batch engine, with Ctrl-C pressed while a job's recordings are uploaded."""

    def __init__(self, engine: Any, cancel: CancelToken) -> None:
        self._engine, self._cancel = engine, cancel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def upload(self, path: Path, name: str, audio: AudioInfo, progress: Any = None, *, sha256: str) -> None:
        self._engine.upload(path, name, audio, progress, sha256=sha256)
        self._cancel.cancel("interrupted")


def test_ctrl_c_cuts_a_retry_after_wait_short_and_the_next_run_submits_the_job_once(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    recordings.add("one.wav", 71, "Interrupted tonight, done tomorrow.")
    emulator = emulator_for(recordings, key=KEY)
    emulator.batch.faults.throttle, emulator.batch.faults.retry_after_s = 1, 300  # the submit: wait 5 min
    settings = _settings(recordings, emulator, tmp_path)
    cancel = CancelToken()
    first = run_batch(settings, cancel=cancel,
                      job_engine_factory=lambda s: _InterruptedAtUpload(batch_engine(s, env=azurite.env), cancel))  # type: ignore[arg-type,return-value]  # fmt: skip
    assert (first.exit_code, first.succeeded_count, emulator.batch.submitted) == (130, 0, 0)
    second = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (second.exit_code, second.succeeded_count, emulator.batch.submitted) == (0, 1, 1)
    assert "done tomorrow" in (settings.out / "one.wav.txt").read_text()


def test_two_copies_of_a_recording_in_one_job_both_get_their_transcript(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    original = recordings.add("calls/monday.wav", 81, "The same call, filed twice.")
    (recordings.root / "backup").mkdir()
    (recordings.root / "backup/monday.wav").write_bytes(original.read_bytes())
    recordings.add("other.wav", 82, "Another call.")
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count, emulator.batch.submitted) == (0, 3, 1), result.failed
    for source in ("calls/monday.wav", "backup/monday.wav"):
        assert "filed twice" in (settings.out / f"{source}.txt").read_text()


def _sparse_wav(path: Path, data_bytes: int) -> Path:
    """A 16 kHz mono 16-bit WAV of silence, ``data_bytes`` long, that takes no room on disk."""
    import struct

    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16
    ) + b"data" + struct.pack("<I", data_bytes)  # fmt: skip
    with path.open("wb") as out:
        out.write(header)
        out.truncate(len(header) + data_bytes)
    return path


def test_a_recording_over_the_services_1_gb_limit_is_refused_before_its_upload(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    recordings.add("small.wav", 91, "A small one.")
    _sparse_wav(recordings.root / "nine-hours.wav", (1 << 30) + 32000 * 60)
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, keep_uploads=True)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (1, 1)
    (failed,) = result.failed
    assert failed.source == "nine-hours.wav" and failed.failure is not None
    assert failed.failure.code == "too_large" and "1 GB" in failed.failure.message
    assert len(_blobs(azurite, settings.batch.storage)) == 1  # only the small one was sent


def test_results_collected_by_a_run_with_other_settings_are_done_under_those_they_were_made_with(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    from dataclasses import replace

    from batchscribe.engines.base import RecognitionOptions

    recordings.add("call.wav", 121, "Spoken in English.")
    emulator = emulator_for(recordings, key=KEY)
    emulator.batch.faults.not_started_reads = 1  # tonight's job is still waiting when the run ends
    factory = azurite.batch_engines()
    english = replace(_settings(recordings, emulator, tmp_path, no_wait=True),
                      options=RecognitionOptions(language="en-US"))  # fmt: skip
    assert run_batch(english, job_engine_factory=factory).exit_code == 0
    german = replace(english, options=RecognitionOptions(language="de-DE"),  # the next night: fixed
                     batch=replace(english.batch, no_wait=False))  # fmt: skip
    collected = run_batch(german, job_engine_factory=factory)  # waits for the English job, collects it
    assert (collected.succeeded_count, emulator.batch.submitted) == (1, 1)
    again = run_batch(german, job_engine_factory=factory)
    assert emulator.batch.submitted == 2, "transcribed again in German"
    assert again.exit_code == 0


class _InterruptedWhilePolling:
    """The batch engine, with Ctrl-C pressed right after a poll found the job waiting."""

    def __init__(self, engine: Any, cancel: CancelToken) -> None:
        self._engine, self._cancel = engine, cancel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def statuses(self, job_ids: Any) -> Any:
        found = self._engine.statuses(job_ids)
        self._cancel.cancel("interrupted")
        return found


def test_an_interrupted_run_says_how_many_recordings_wait_at_the_service(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    for seed in range(3):
        recordings.add(f"r{seed}.wav", 130 + seed)
    emulator = emulator_for(recordings, key=KEY)
    emulator.batch.faults.not_started_reads = 10**6
    settings = _settings(recordings, emulator, tmp_path)
    cancel = CancelToken()
    result = run_batch(settings, cancel=cancel,
                       job_engine_factory=lambda s: _InterruptedWhilePolling(batch_engine(s, env=azurite.env), cancel))  # type: ignore[arg-type,return-value]  # fmt: skip
    assert result.exit_code == 130
    assert "3 recording(s) pending at the service" in result.stop_reason
