"""An in-memory job engine for tests: the job shape (``engines/jobs.py``) without a network.

Uploads are kept by the name the driver gives them (``uploads``), jobs by id; a job is ``NotStarted`` for
``reads_before_done`` status reads, then ``Succeeded`` (or ``Failed`` with ``fail_code`` while
``fail_jobs`` lasts). Recordings whose path contains one of ``fail_names`` fail alone; each other
recording gets one phrase naming its upload. ``lose_jobs`` jobs are forgotten (``Lost``) once
submitted. Calls are counted (``submits``, ``status_calls``, ``uploaded``) so tests can assert
what was paid for.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Phrase, Transcript
from batchscribe.engines.jobs import JobStatus, RecordingResult, UploadHook
from batchscribe.errors import FileError, PermanentEngineError


@dataclass
class _FakeJob:
    name: str
    uploads: list[str]
    reads_left: int
    fail: str = ""


@dataclass
class FakeJobEngine:
    reads_before_done: int = 0
    fail_names: tuple[str, ...] = ()
    fail_jobs: int = 0
    fail_code: str = "InvalidData"
    lose_jobs: int = 0
    max_batch: int = 1000
    refuse_stereo: bool = False
    name: str = "fake-batch"
    uploads: dict[str, bytes] = field(default_factory=dict)  # name -> bytes
    jobs: dict[str, _FakeJob] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # upload -> the file name it came from
    forgotten: list[str] = field(default_factory=list)
    uploaded: int = 0  # uploads actually sent (not already there)
    submits: int = 0
    sent: list[str] = field(default_factory=list)  # every upload of every job submitted, in order
    status_calls: int = 0
    on_submit: list[object] = field(default_factory=list)  # callables run after each submit (kill tests)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def content_name(self, path: Path, sha256: str, audio: AudioInfo) -> str:
        return f"{sha256}{path.suffix.lower()}"

    def upload(
        self, path: Path, name: str, audio: AudioInfo, progress: UploadHook | None = None, *, sha256: str
    ) -> None:
        data = path.read_bytes()
        with self._lock:
            if name not in self.uploads:
                self.uploads[name] = data
                self.uploaded += 1
            self.names[name] = path.name
        if progress is not None:
            progress(len(data), len(data))

    def submit(self, display_name: str, uploads: list[str]) -> str:
        job_id = str(uuid.uuid4())
        with self._lock:
            self.submits += 1
            self.sent += uploads
            fail = self.fail_code if self.fail_jobs > 0 else ""
            self.fail_jobs -= bool(fail)
            lost = self.lose_jobs > 0
            self.lose_jobs -= lost
            if not lost:
                self.jobs[job_id] = _FakeJob(display_name, list(uploads), self.reads_before_done, fail)
        for hook in self.on_submit:
            hook()  # type: ignore[operator]
        return job_id

    def find(self, display_name: str) -> str | None:
        with self._lock:
            return next((i for i, j in self.jobs.items() if j.name == display_name), None)

    def statuses(self, job_ids: Collection[str]) -> dict[str, JobStatus]:
        with self._lock:
            self.status_calls += 1
            found = {}
            for job_id in job_ids:
                job = self.jobs.get(job_id)
                if job is None:
                    found[job_id] = JobStatus(job_id, "Lost")
                elif job.reads_left > 0:
                    job.reads_left -= 1
                    found[job_id] = JobStatus(job_id, "NotStarted")
                elif job.fail:
                    found[job_id] = JobStatus(job_id, "Failed", job.fail, "the job failed")
                else:
                    found[job_id] = JobStatus(job_id, "Succeeded")
            return found

    def results(self, job_id: str, uploads: list[str]) -> Iterator[RecordingResult]:
        with self._lock:
            job = self.jobs[job_id]
        for index, upload in enumerate(job.uploads[: len(uploads)]):
            if not uploads[index]:
                continue
            if any(piece in self.names.get(upload, "") for piece in self.fail_names):
                yield RecordingResult(
                    index, error=PermanentEngineError("invalid audio data", code="InvalidData")
                )
            else:
                phrase = Phrase(offset_ticks=0, duration_ticks=10_000_000, display=f"Upload {upload[:8]}.")
                yield RecordingResult(index, transcript=Transcript(phrases=(phrase,)))

    def refusal(self, audio: AudioInfo) -> FileError | None:
        if self.refuse_stereo and audio.channels > 1:
            return PermanentEngineError("stereo refused", code="refused")
        return None

    def forget(self, job_id: str) -> None:
        with self._lock:
            self.jobs.pop(job_id, None)
            self.forgotten.append(job_id)

    def remove_upload(self, name: str) -> None:
        with self._lock:
            self.uploads.pop(name, None)

    def interrupt(self) -> None:
        return None

    def close(self) -> None:
        return None
