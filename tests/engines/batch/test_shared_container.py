"""Output folders sharing one container (several machines, the jobs of a jobs file): each
uploads under its own folder id, so one folder's cleanup never removes a blob another folder's
job still has to read. Real clients against Azurite and the emulator's batch API."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.running.run import run_batch
from batchscribe.state.job_store import JobStore
from tests.azurite import Azurite
from tests.conftest import Recordings

KEY = "shared-container-key"


def _settings(inputs: Path, out: Path, emulator: Emulator, container: str, **batch: object) -> RunSettings:
    return RunSettings(
        inputs=(inputs,), out=out, endpoint=Endpoint(kind="endpoint", url=emulator.rest_url, key=KEY),
        engine="batch", formats=("json",),
        batch=BatchSettings(storage=container, poll_interval_s=0.02, **batch),  # type: ignore[arg-type]
    )  # fmt: skip


def _folder_id(out: Path) -> str:
    store = JobStore(out)
    try:
        return store.folder_id()
    finally:
        store.close()


def test_a_folder_cleaning_up_leaves_the_same_bytes_another_folder_still_waits_for(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    recordings.add("calls/a.wav", 1, "Good morning, this is the first call.")
    recordings.add("hold.wav", 2, "Please hold, your call is important to us.")
    copied = tmp_path / "machine-b"
    copied.mkdir()
    shutil.copy(recordings.root / "hold.wav", copied / "hold-music.wav")  # the same bytes, renamed
    container = f"shared{uuid.uuid4().hex[:12]}"
    # Two machines, each with its own Speech resource, one container between them.
    service_a, service_b = emulator_for(recordings, key=KEY), emulator_for(recordings, key=KEY)
    service_b.batch.faults.not_started_reads = 3  # B's job waits in the service's queue
    folder_a = _settings(recordings.root, tmp_path / "out-a", service_a, container)
    folder_b = _settings(copied, tmp_path / "out-b", service_b, container, no_wait=True)

    first_b = run_batch(folder_b, job_engine_factory=azurite.batch_engines())
    assert (first_b.exit_code, first_b.succeeded_count) == (0, 0)
    assert "1 recording(s) pending" in first_b.at_service
    done_a = run_batch(folder_a, job_engine_factory=azurite.batch_engines())
    assert (done_a.exit_code, done_a.succeeded_count) == (0, 2), done_a.failed
    # A removed its own uploads only: B's copy of the shared bytes is still in the container.
    id_a, id_b = _folder_id(folder_a.out), _folder_id(folder_b.out)
    assert id_a != id_b and len(id_a) == len(id_b) == 16
    (left,) = azurite.blob_names(container)
    assert left.startswith(f"{id_b}/") and left.endswith(".wav")

    waiting_b = replace(folder_b, batch=replace(folder_b.batch, no_wait=False))
    done_b = run_batch(waiting_b, job_engine_factory=azurite.batch_engines())
    assert (done_b.exit_code, done_b.succeeded_count, done_b.failed_count) == (0, 1, 0), done_b.failed
    document = json.loads((folder_b.out / "hold-music.wav.json").read_text())
    assert document["combinedRecognizedPhrases"][0]["display"] == "Please hold, your call is important to us."
    assert service_b.batch.submitted == 1 and azurite.blob_names(container) == []


def test_the_report_maps_a_failure_back_by_the_whole_blob_path_old_names_too() -> None:
    from batchscribe.engines.batch.engine import _report_failures

    sha = "ab" * 32
    uploads = {f"0123456789abcdef/{sha}.wav": [0], f"fedcba9876543210/{sha}.wav": [1], f"{sha}.mp3": [2]}
    details = [
        {"source": f"https://acct.blob.core.windows.net/c/fedcba9876543210/{sha}.wav?sv=x&sig=y", "status": "Failed",
         "errorKind": "InvalidData", "errorMessage": "bad"},
        {"source": f"http://127.0.0.1:10000/devstoreaccount1/c/{sha}.mp3", "status": "Failed",
         "errorKind": "EmptyAudioFile", "errorMessage": "empty"},
        {"source": f"https://acct.blob.core.windows.net/c/0123456789abcdef/{sha}.wav", "status": "Succeeded"},
    ]  # fmt: skip
    failures = _report_failures(json.dumps({"details": details}).encode(), uploads, trusted=False)
    assert sorted(failures) == [1, 2]
    assert (failures[1].sdk_code, failures[2].sdk_code) == ("InvalidData", "EmptyAudioFile")
