"""``BatchJobEngine``: the job engine (``engines/jobs.py``) over Azure batch transcription and
Blob Storage: ``client.BatchClient`` for the REST calls, ``storage.BlobStore`` for uploads.

The job's properties come from the same recognition options as every engine's
(``properties``); a recording the service would refuse with them (diarization on stereo) is
refused before upload. ``resources/batch_setup.py`` builds the engine from the run's settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from batchscribe.audio import AudioInfo, sha256_of
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.client import BatchClient, LinkExpired, ResultTooLarge, mask
from batchscribe.engines.batch.convert import converted, sent_as_is
from batchscribe.engines.batch.results import BadResult, transcript_from_result
from batchscribe.engines.batch.settings import MAX_BATCH, TIME_TO_LIVE_HOURS
from batchscribe.engines.batch.storage import BlobStore, ChangedError
from batchscribe.engines.jobs import JobState, JobStatus, RecordingResult, UploadHook
from batchscribe.errors import (
    FatalEngineError,
    FileError,
    PermanentEngineError,
    TransientEngineError,
    UsageError,
)
from batchscribe.names import shown

LINK_REFRESHES = 3  # result links listed again at most this many times per job
_STATES: dict[str, JobState] = {
    "NotStarted": "NotStarted",
    "Running": "Running",
    "Succeeded": "Succeeded",
    "Failed": "Failed",
}
_PROFANITY = {"masked": "Masked", "removed": "Removed", "raw": "None"}
DIARIZATION_MAX_SPEAKERS = 35
_JOB_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")  # URL-safe, one line
MAX_FILE_BYTES = 1 << 30  # the service's limit per recording (1 GB)


def properties(options: RecognitionOptions, *, channels_separate: bool) -> dict[str, Any]:
    """The job's ``properties`` from the run's recognition options (``--channels separate``:
    ``channels_separate``)."""
    found: dict[str, Any] = {
        "timeToLiveHours": TIME_TO_LIVE_HOURS,
        "wordLevelTimestampsEnabled": options.word_timestamps,
        "punctuationMode": "DictatedAndAutomatic",
        "profanityFilterMode": _PROFANITY.get(options.profanity, "Masked"),
    }
    if options.diarize:
        found["diarization"] = {"enabled": True, "maxSpeakers": DIARIZATION_MAX_SPEAKERS}
    if channels_separate:
        found["channels"] = [0, 1]
    else:
        found["channels"] = [0]
    if options.languages:
        found["languageIdentification"] = {"candidateLocales": list(options.languages), "mode": "Continuous"}
    return found


def check_settings(options: RecognitionOptions, *, channels_separate: bool) -> None:
    """Settings batch transcription cannot honour: refused before anything is uploaded."""
    if options.phrases:
        raise UsageError(
            "--phrases is not available with --engine batch (batch transcription has no phrase list)",
            hint="drop --phrases, or use --engine realtime",
        )
    if options.diarize and channels_separate:
        raise UsageError(
            "--diarize with --channels separate is refused by batch transcription",
            hint="diarization works on mono audio: use one of them",
        )


class BatchJobEngine:
    max_batch = MAX_BATCH

    def __init__(
        self,
        client: BatchClient,
        storage: BlobStore,
        options: RecognitionOptions,
        *,
        channels_separate: bool,
        name: str,
    ) -> None:
        check_settings(options, channels_separate=channels_separate)
        self.name = name
        self._client = client
        self._storage = storage
        self._options = options
        self._channels_separate = channels_separate
        self._properties = properties(options, channels_separate=channels_separate)
        self._locale = (options.languages or (options.language,))[0]
        self.uploaded = 0  # uploads sent (not already there)

    def refusal(self, audio: AudioInfo) -> FileError | None:
        if self._options.diarize and audio.channels > 1:
            return PermanentEngineError(
                "the service refuses diarization on stereo audio",
                code="refused_by_service",
                hint="use --channels separate without --diarize, or mix it down to mono",
            )
        return None

    def content_name(self, path: Path, sha256: str, audio: AudioInfo) -> str:
        """``<sha256><ext>`` sent as it is; converted, by the source's hash (converted at most
        once, whatever it is called): ``.wav`` mixed down to mono, ``.channels.wav`` keeping
        its channels (``--channels separate``). The driver puts it under the folder's id."""
        if self._sent_as_is(path, audio):
            return f"{sha256}{path.suffix.lower()}"
        return f"{sha256}.channels.wav" if self._channels_separate else f"{sha256}.wav"

    def _sent_as_is(self, path: Path, audio: AudioInfo) -> bool:
        return sent_as_is(path, audio, channels_separate=self._channels_separate)

    def upload(
        self, path: Path, name: str, audio: AudioInfo, progress: UploadHook | None = None, *, sha256: str
    ) -> None:
        """Sent as it is, its bytes hashed as they go (``ChangedError`` when they are not the
        bytes hashed as ``sha256``), or converted once (unless already there)."""
        if self._sent_as_is(path, audio):
            _check_size(path)
            self.uploaded += self._storage.upload(path, name, progress, sha256=sha256)
        elif not self._storage.exists(name):
            with converted(path, keep_channels=self._channels_separate) as wav:
                if sha256_of(path) != sha256:  # converted from other bytes than were hashed
                    raise ChangedError()
                _check_size(wav)
                self.uploaded += self._storage.upload(wav, name, progress)

    def submit(self, display_name: str, uploads: list[str]) -> str:
        body: dict[str, Any] = {
            "displayName": display_name,
            "locale": self._locale,
            "properties": self._properties,
            "contentUrls": [self._storage.url(u) for u in uploads],
        }
        if self._options.endpoint_id:
            body["model"] = {"self": f"{self._client.base_url}/models/{self._options.endpoint_id}"}
        job = self._client.call("POST", "/transcriptions:submit", body=body)
        return _job_id(job)

    def find(self, display_name: str) -> str | None:
        for job in self._client.pages("/transcriptions"):
            if isinstance(job, dict) and job.get("displayName") == display_name and _listed_id(job):
                return _listed_id(job)
        return None

    def statuses(self, job_ids: Collection[str]) -> dict[str, JobStatus]:
        wanted = set(job_ids)
        found: dict[str, JobStatus] = {}
        for job in self._client.pages("/transcriptions"):  # one list for every job
            job_id = _listed_id(job)
            if job_id in wanted:
                found[job_id] = _status(job_id, job)
                if len(found) == len(wanted):  # the resource's other jobs need not be read
                    break
        for job_id in wanted - found.keys():  # not listed: ask for it alone before calling it lost
            job = self._client.call("GET", f"/transcriptions/{job_id}", allow_404=True)
            found[job_id] = _status(job_id, job) if isinstance(job, dict) else JobStatus(job_id, "Lost")
        return found

    def results(self, job_id: str, uploads: list[str]) -> Iterator[RecordingResult]:
        index_of = {u: i for i, u in enumerate(uploads) if u}
        pending = {i for i, u in enumerate(uploads) if u}
        failures: dict[int, FileError] = {}
        read: set[str] = set()  # result files downloaded already (by name)
        for _ in range(LINK_REFRESHES + 1):
            expired = False
            for file in self._client.pages(f"/transcriptions/{job_id}/files"):
                link = _content_url(file)
                if link is None:  # not a file, or no link to it: its recording stays pending
                    continue
                index = _index(file, index_of, len(uploads))
                if file.get("kind") == "TranscriptionReport" and not failures:
                    try:
                        failures = _report_failures(
                            self._client.download(link), uploads, trusted=self._storage.access == "trusted"
                        )
                    except LinkExpired:
                        expired = True
                    except ResultTooLarge:
                        pass  # the recordings it would have explained fail as unread
                if index is None or not pending or file["name"] in read:
                    continue
                try:
                    data = self._client.download(link)
                except LinkExpired:
                    expired = True
                    continue
                except ResultTooLarge as exc:
                    read.add(file["name"])
                    if index in pending:
                        pending.discard(index)
                        yield RecordingResult(index, error=exc)
                    continue
                read.add(file["name"])
                # The file's own 'source' says whose it is; its name's number only when it does
                # not say (a result is never taken for another recording's).
                source = _source_url(data)
                blob = _blob_of(source, index_of) if source is not None else None
                owner = index if blob in (None, uploads[index]) else index_of.get(blob or "")
                if owner is None or owner not in pending:
                    continue
                pending.discard(owner)
                try:
                    yield RecordingResult(owner, transcript=transcript_from_result(data))
                except BadResult as exc:
                    yield RecordingResult(owner, error=exc)
            if not expired:
                break
        for index in sorted(pending):
            yield RecordingResult(
                index,
                error=failures.get(index)
                or TransientEngineError(
                    "the service's result for this recording could not be read", code="no_result"
                ),
            )

    def forget(self, job_id: str) -> None:
        self._client.call("DELETE", f"/transcriptions/{job_id}", allow_404=True)

    def remove_upload(self, name: str) -> None:
        self._storage.delete(name)

    def interrupt(self) -> None:
        self._client.interrupt()

    def close(self) -> None:
        self._client.close()


def _check_size(path: Path) -> None:
    """A file over the service's limit is refused before its bytes are sent (and paid for)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PermanentEngineError(
            f"it is {size / 2**30:.1f} GB: batch transcription takes files up to 1 GB",
            code="too_large",
            hint="split it, or transcribe it with --engine realtime",
        )


def _listed_id(job: Any) -> str:
    """A job's id from its ``self`` link; '' when the answer has none, or one that is not a plain
    id (it goes into URLs and onto the terminal: a GUID at Azure)."""
    link = job.get("self") if isinstance(job, dict) else None
    job_id = link.rstrip("/").rsplit("/", 1)[-1].split("?")[0] if isinstance(link, str) else ""
    return job_id if _JOB_ID.match(job_id) else ""


def _job_id(job: Any) -> str:
    """A submitted job's id. A submit answer without one stops the run: sent again each poll, it
    could make a job per poll; left 'submitting', the next run looks for it by its name."""
    if not (job_id := _listed_id(job)):
        raise FatalEngineError(
            "the batch service's answer to a submit has no job id",
            code="bad_answer",
            hint="check --endpoint: it must be Azure's batch transcription API (v2025-10-15)",
        )
    return job_id


def _content_url(file: Any) -> str | None:
    links = file.get("links") if isinstance(file, dict) else None
    url = links.get("contentUrl") if isinstance(links, dict) else None
    return url if isinstance(url, str) and url else None


def _status(job_id: str, job: dict[str, Any]) -> JobStatus:
    reported = str(job.get("status"))
    state = _STATES.get(reported, "Running")
    properties = job.get("properties")
    error = properties.get("error") if isinstance(properties, dict) else None
    error = error if isinstance(error, dict) else {}
    code, message = shown(str(error.get("code", ""))), shown(mask(str(error.get("message", ""))))
    unknown = "" if reported in _STATES else shown(reported)[:40]
    return JobStatus(job_id, state, code, message, unknown)


def _index(file: dict[str, Any], index_of: dict[str, int], count: int) -> int | None:
    """Which recording a result file is: ``contenturl_N.json``."""
    name = str(file.get("name", ""))
    if file.get("kind") != "Transcription" or not name.startswith("contenturl_"):
        return None
    try:
        index = int(name.removeprefix("contenturl_").removesuffix(".json"))
    except ValueError:
        return None
    return index if 0 <= index < count else None


def _source_url(data: bytes) -> str | None:
    """The URL a result file says it was read from (its ``source``), if it says."""
    try:
        source = json.loads(data).get("source")
    except (ValueError, AttributeError):
        return None
    return source if isinstance(source, str) and source else None


def _blob_of(source: str, uploads: Collection[str]) -> str:
    """Which upload a source URL reads: the longest run of its path's last segments that names
    one (``<folder id>/<sha256><ext>``, or an earlier version's ``<sha256><ext>``), whatever the
    account and container before it; '' when none does."""
    segments = unquote(urlsplit(source).path).split("/")
    for start in range(1, len(segments)):
        if (blob := "/".join(segments[start:])) in uploads:
            return blob
    return ""


def _report_failures(data: bytes, uploads: list[str], *, trusted: bool) -> dict[int, FileError]:
    """The report's failed recordings, by index (matched on the blob path in their source URL:
    every copy of the same bytes in the job); ``trusted``: the service read plain URLs with its
    managed identity (``--storage-access trusted``)."""
    try:
        details = json.loads(data).get("details")
    except (ValueError, AttributeError):
        return {}
    failures: dict[int, FileError] = {}
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, dict) or detail.get("status") == "Succeeded":
            continue
        blob = _blob_of(str(detail.get("source", "")), set(uploads))
        kind = shown(str(detail.get("errorKind", "")))
        message = shown(mask(str(detail.get("errorMessage", ""))))
        error = TransientEngineError if kind in _PASSING_KINDS else PermanentEngineError
        for index in (i for i, upload in enumerate(uploads) if upload and upload == blob):
            failures[index] = error(
                f"the service could not transcribe it: {message or kind}",
                code="service_refused_file",
                sdk_code=kind,
                detail=message,
                hint=_file_hint(kind, trusted=trusted),
            )
    return failures


# A recording's failure that says nothing against the recording (its SAS expired while the job
# waited, the service hiccuped): failed transient, so the next run sends it again.
_PASSING_KINDS = frozenset({
    "InaccessibleCustomerStorage", "InvalidUri", "Internal", "InternalServerError", "Timeout", "Transient",
    "ServiceUnavailable",
})  # fmt: skip


_UNREADABLE_KINDS = frozenset({"InaccessibleCustomerStorage", "InvalidUri"})  # the audio was not read


def _file_hint(kind: str, *, trusted: bool) -> str:
    if trusted and kind in _UNREADABLE_KINDS:
        return (
            "with --storage-access trusted the Speech resource's managed identity reads the container: "
            "give it Storage Blob Data Reader on it, or use --storage-access sas"
        )
    if kind in _PASSING_KINDS:
        return "the service could not read it then (a link expired, a passing fault): the next run sends it"
    if kind in ("InvalidData", "InvalidAudioFormat", "EmptyAudioFile"):
        return "check that the recording plays and holds speech; stereo audio with diarization is refused"
    if kind == "AudioLengthLimitExceeded":
        return (
            "batch transcription takes recordings up to its length limit: split it, or use --engine realtime"
        )
    return "see the service's message; run again to retry it"
