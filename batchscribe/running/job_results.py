"""One recording of a batch job, finished: its outputs written through the same writers as every
engine's, or its failure; and what a failed job's error means for its recordings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import __version__
from batchscribe.audio import AudioInfo
from batchscribe.config.settings import RunSettings
from batchscribe.engines.jobs import JobStatus, RecordingResult
from batchscribe.errors import FileError, PermanentEngineError
from batchscribe.outputs.azure_json import TranscriptMeta
from batchscribe.outputs.quality import average_confidence, transcript_warnings
from batchscribe.outputs.writer import write_outputs
from batchscribe.planning.planner import transcript_settings
from batchscribe.results import Failure, FileResult
from batchscribe.state.job_store import Member

# Job errors worth a second submit (Microsoft's Ingestion Client retries the same ones).
TRANSIENT_JOB_CODES = (
    "InvalidUri", "Internal", "InternalServerError", "Timeout", "Transient", "ServiceUnavailable",
)  # fmt: skip


def failed_result(
    source: str, path: Path, audio: AudioInfo | None, error: FileError, *, sha256: str, attempts: int
) -> FileResult:
    return FileResult(source=source, path=path, status="failed", audio=audio, attempts=attempts,
                      failure=Failure.from_error(error), sha256=sha256)  # fmt: skip


def member_result(
    settings: RunSettings,
    member: Member,
    result: RecordingResult,
    *,
    engine: str,
    run_id: str,
    attempts: int,
    submitted_with: dict[str, object] | None = None,
) -> FileResult:
    """Write a recording's outputs from its result (the JSON last); or its failure. The JSON's
    ``batchscribe`` block names the settings the job was submitted with (``submitted_with``, when
    known), which a run collecting it with other settings does not have."""
    audio = AudioInfo(**member.audio)  # type: ignore[arg-type]
    if result.transcript is None:
        error = result.error or PermanentEngineError("the service returned no result", code="no_result")
        return failed_result(
            member.source, member.path, audio, error, sha256=member.sha256, attempts=attempts
        )
    transcript = result.transcript
    meta = TranscriptMeta(
        engine=engine, endpoint=settings.endpoint.describe(),
        settings=submitted_with if submitted_with is not None else transcript_settings(settings),
        sha256=member.sha256, attempts=attempts, started_at=datetime.now(timezone.utc), elapsed_s=0.0,
        run_id=run_id, version=__version__,
    )  # fmt: skip
    try:
        outputs = write_outputs(
            out_dir=settings.out,
            source=member.source,
            formats=settings.formats,
            transcript=transcript,
            audio=audio,
            meta=meta,
            timestamps=settings.timestamps,
        )
    except FileError as exc:
        return failed_result(member.source, member.path, audio, exc, sha256=member.sha256, attempts=attempts)
    return FileResult(
        source=member.source, path=member.path, status="succeeded", audio=audio, attempts=attempts,
        outputs=outputs, warnings=transcript_warnings(transcript, audio),
        average_confidence=average_confidence(transcript), sha256=member.sha256,
    )  # fmt: skip


def job_failure(status: JobStatus) -> FileError:
    """A failed job's error, as each of its recordings' failure."""
    return PermanentEngineError(
        f"the batch job failed: {status.error_message or status.error_code}", code="job_failed",
        sdk_code=status.error_code, detail=status.error_message, hint=_hint(status.error_code),
    )  # fmt: skip


def _hint(code: str) -> str:
    if code in ("InvalidData", "InvalidAudioFormat"):
        return "check the recording plays; stereo audio with --diarize is refused by the service"
    if code == "InaccessibleCustomerStorage":
        return "the service cannot read the container: check --storage-access and the SAS or managed identity"
    return "see the service's message; run again to retry"


def age_s(created_at: str, *, fallback: float) -> float:
    """Seconds since ``created_at`` (ISO, UTC), or ``fallback`` when it cannot be read."""
    try:
        return (datetime.now(timezone.utc) - datetime.fromisoformat(created_at)).total_seconds()
    except ValueError:
        return fallback


def duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
