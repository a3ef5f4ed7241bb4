"""The job engine shape: recordings go up to storage, a job of many is submitted, and its results
come back minutes or hours later, maybe to another process (Azure batch transcription).

    engine.content_name(path, sha256, audio)  -> the upload's name within its folder (same bytes, same name)
    engine.upload(path, name, audio, hook)    -> the recording in storage as ``name`` (hook: bytes sent)
    engine.submit(display_name, names)  -> the job's id (at most ``max_batch`` recordings)
    engine.find(display_name)           -> the id of a job submitted under that name, or None
    engine.statuses(job_ids)            -> each job's ``JobStatus`` (one list call for many)
    engine.results(job_id, uploads)     -> one ``RecordingResult`` per recording, by index
    engine.refusal(audio)               -> why the service would refuse this recording, before upload
    engine.forget(job_id)               -> the job deleted at the service
    engine.remove_upload(name)          -> the upload deleted from storage

Work outlives the process: the driver (``running/jobs.py``) writes what it is about to do and
what it did in the job store (``state/job_store.py``), so a run killed at any moment neither
submits a recording twice nor loses one; the next run finds its jobs by id, or by display name
when the kill came between submit and record. Failures are the engines' usual ones:
``TransientEngineError`` (throttled or the service down, after retries), ``PermanentEngineError``
per recording, ``FatalEngineError`` (authentication, storage refused: the run stops).
``engines/fake_jobs.py`` is the in-memory one for tests; ``engines/batch/`` the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Transcript
from batchscribe.errors import FileError

UploadHook = Callable[[int, int | None], None]
JobState = Literal["NotStarted", "Running", "Succeeded", "Failed", "Lost"]
"""``Lost``: the service no longer knows the job (404): submitted again, once."""

FINISHED: tuple[JobState, ...] = ("Succeeded", "Failed", "Lost")


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    error_code: str = ""  # for Failed: the service's code and message
    error_message: str = ""
    unknown: str = ""  # a status the service named that batchscribe does not know (taken as Running)


@dataclass(frozen=True)
class RecordingResult:
    """The result of the ``index``-th recording of a job: a transcript, or why there is none."""

    index: int
    transcript: Transcript | None = None
    error: FileError | None = None


class JobEngine(Protocol):
    name: str  # for the ``batchscribe`` block: "azure-batch", "emulator-batch", "fake-batch"
    max_batch: int  # recordings per job at most

    def content_name(self, path: Path, sha256: str, audio: AudioInfo) -> str:
        """The recording's name by its content (``<sha256><ext>``), known before anything is
        sent. The driver puts it under the output folder's id (``job_uploads.upload_name``: the
        one place) and records that name first, so an upload a kill leaves unrecorded is removed
        by the next run."""
        ...

    def upload(
        self, path: Path, name: str, audio: AudioInfo, progress: UploadHook | None = None, *, sha256: str
    ) -> None:
        """Put the recording in storage as ``name`` unless it is there already (the same bytes).
        ``progress(sent, total)`` hears how far the bytes sent are (maybe from several threads).
        ``sha256``: the recording's hash when it was named; bytes that are not those any more
        fail it (``changed_during_upload``), never stored under that name."""
        ...

    def submit(self, display_name: str, uploads: list[str]) -> str:
        """Submit one job of these uploads, in this order; returns its id."""
        ...

    def find(self, display_name: str) -> str | None:
        """The id of a job the service holds under this display name, if any."""
        ...

    def statuses(self, job_ids: Collection[str]) -> dict[str, JobStatus]:
        """The status of each job (``Lost`` for one the service does not know)."""
        ...

    def results(self, job_id: str, uploads: list[str]) -> Iterator[RecordingResult]:
        """Each recording's result of a succeeded job submitted with these uploads ('' at an
        index whose result is not wanted any more)."""
        ...

    def refusal(self, audio: AudioInfo) -> FileError | None:
        """Why the service would refuse this recording with these settings (diarization on
        stereo...), before anything is uploaded; None when it is fine."""
        ...

    def forget(self, job_id: str) -> None:
        """Delete the job at the service (its results too); a job already gone is fine."""
        ...

    def remove_upload(self, name: str) -> None:
        """Delete an upload; one already gone is fine."""
        ...

    def interrupt(self) -> None:
        """The run was interrupted: stop waiting (Retry-After, back-off) in calls under way."""
        ...

    def close(self) -> None: ...
