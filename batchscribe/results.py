"""Frozen results of a run: one ``FileResult`` per recording, one ``RunResult`` per run.

A run of many files does not keep every ``FileResult``: ``FileTally`` counts them all and keeps
what the report shows per file (failures, cancelled, retried and warned files, the slowest, and
every file of a small run), and spools the other transcripts' links to a temporary file, so
memory stays flat however many files a run has.

Per-file failures are recorded here, never raised; ``RunResult.exit_code`` turns the batch status
into the CLI's exit code (see ARCHITECTURE.md: 0 ok, 1 some failed, 3 aborted, 130 interrupted).
"""

from __future__ import annotations

import heapq
import json
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from batchscribe.errors import (
    EXIT_ABORTED,
    EXIT_FILES_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EngineError,
    FileError,
)
from batchscribe.outputs.quality import LOW_CONFIDENCE_BELOW

if TYPE_CHECKING:
    from batchscribe.audio import AudioInfo
    from batchscribe.resources.rotation import ResourceStats
    from batchscribe.summary_digest import SummaryDigest

FileStatus = Literal["succeeded", "failed", "cancelled"]
AttemptOutcome = Literal["succeeded", "retried", "failed", "cancelled"]


@dataclass(frozen=True)
class Failure:
    """Why a recording failed, in words a person can act on. ``detail`` is already masked."""

    code: str  # batchscribe's stable name, e.g. "throttled", "auth_failed", "not_media"
    error_class: str  # transient | permanent | fatal
    message: str
    hint: str
    sdk_code: str = ""
    detail: str = ""

    @classmethod
    def from_error(cls, error: FileError) -> Failure:
        sdk_code = error.sdk_code if isinstance(error, EngineError) else ""
        detail = error.detail if isinstance(error, EngineError) else ""
        return cls(
            code=error.code,
            error_class=error.error_class,
            message=error.message,
            hint=error.hint,
            sdk_code=sdk_code,
            detail=detail,
        )


@dataclass(frozen=True)
class Attempt:
    """One try at one recording, for the worker timeline."""

    worker: int
    started_at: float  # seconds since the run started
    ended_at: float
    outcome: AttemptOutcome
    error_code: str = ""
    error_class: str = ""  # transient | permanent | fatal | cancelled, when it did not succeed
    reason: str = ""  # the error's message (already masked), why it was retried or failed
    chunk: str = ""  # which part of a split recording ("chunk 3"), empty for a whole recording


@dataclass(frozen=True)
class FileResult:
    source: str  # path relative to its scanned root, with forward slashes
    path: Path
    status: FileStatus
    audio: AudioInfo | None = None
    attempts: int = 0
    outputs: tuple[Path, ...] = ()
    failure: Failure | None = None
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    timeline: tuple[Attempt, ...] = ()
    average_confidence: float | None = None
    sha256: str = ""

    @property
    def audio_seconds(self) -> float:
        return self.audio.duration_s if self.audio else 0.0


@dataclass(frozen=True)
class KnownFailure:
    """A recording that failed permanently before and was not sent again (same content, same
    transcript settings): listed as still failing, never counted as tonight's failure."""

    source: str
    code: str
    message: str
    since: str  # ISO UTC date and time of its first failure


@dataclass(frozen=True)
class RunCounts:
    """What discovery and planning saw before anything ran."""

    discovered: int = 0
    new: int = 0
    changed: int = 0  # content or transcript settings changed since it was done, or outputs deleted
    failed_before: int = 0  # failed before and due again (transient, changed, or --retry-failed)
    known_failures: int = 0  # failed permanently before, unchanged: not sent again
    forced: int = 0  # done, redone because of --force
    skipped_done: int = 0
    rerendered: int = 0  # done, but outputs were missing: rendered again from the JSON, no audio sent
    not_settled: int = 0
    changed_during_run: int = 0
    not_scheduled: int = 0  # left by a budget, a time window or an abort
    throttled: int = 0  # times the service pushed back (429, quota, or connections the SDK retried)
    peak_concurrency: int = 0  # recognition sessions actually open at once, at most
    final_concurrency: int = 0  # sessions the limiter allowed at the end


KEEP_EVERY_RESULT_UP_TO = 1000  # a run this small keeps every file's result (the timeline shows all)
SLOWEST_KEPT = 10


class FileTally:
    """Every finished file counted; only what the report needs per file kept. Not thread-safe:
    the runner adds under its lock."""

    def __init__(self, keep_every_up_to: int = KEEP_EVERY_RESULT_UP_TO) -> None:
        self._keep_every_up_to = keep_every_up_to
        self.succeeded = self.failed = self.cancelled = self.retried = 0
        self.audio_seconds = 0.0  # of the succeeded files
        self._kept: list[FileResult] = []
        self._slowest: list[tuple[float, str, FileResult]] = []  # a min-heap of the slowest others
        self._links: IO[str] | None = None  # "[source, [output, ...]]" per line, of files not kept

    def add(self, result: FileResult) -> None:
        self.succeeded += result.status == "succeeded"
        self.failed += result.status == "failed"
        self.cancelled += result.status == "cancelled"
        self.retried += result.attempts > 1
        self.audio_seconds += result.audio_seconds if result.status == "succeeded" else 0.0
        if self.succeeded + self.failed + self.cancelled <= self._keep_every_up_to or _worth_a_row(result):
            self._kept.append(result)
            return
        if result.elapsed_s > 0:
            heapq.heappush(self._slowest, (result.elapsed_s, result.source, result))
            if len(self._slowest) > SLOWEST_KEPT:
                self._spool(heapq.heappop(self._slowest)[2])
        else:
            self._spool(result)

    def _spool(self, result: FileResult) -> None:
        if result.status != "succeeded":
            return
        if self._links is None:
            self._links = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (lives with the tally)
            weakref.finalize(self, self._links.close)
        self._links.write(json.dumps([result.source, [str(p) for p in result.outputs]]) + "\n")

    @property
    def files(self) -> tuple[FileResult, ...]:
        """The results kept, by source."""
        return tuple(sorted([*self._kept, *(r for _, _, r in self._slowest)], key=lambda r: r.source))

    def spooled_outputs(self) -> Iterator[tuple[str, tuple[Path, ...]]]:
        """(source, outputs) of the succeeded files whose results were not kept."""
        if self._links is None:
            return
        self._links.flush()
        self._links.seek(0)
        for line in self._links:
            source, outputs = json.loads(line)
            yield source, tuple(Path(p) for p in outputs)
        self._links.seek(0, 2)


def _worth_a_row(result: FileResult) -> bool:
    """Failed, cancelled, retried or warned: a row of its own in the report."""
    low = result.average_confidence is not None and result.average_confidence < LOW_CONFIDENCE_BELOW
    return result.status != "succeeded" or result.attempts > 1 or bool(result.warnings) or low


@dataclass(frozen=True)
class RunResult:
    run_id: str
    started_at: datetime
    ended_at: datetime
    settings: dict[str, object]  # never a secret
    files: tuple[FileResult, ...] = ()
    counts: RunCounts = field(default_factory=RunCounts)
    aborted: str = ""  # why the run was aborted (exit 3), empty if it was not
    interrupted: bool = False
    stop_reason: str = ""  # budget or time window reached: what was left undone and why
    # --engine batch --no-wait: what was left at the service on purpose (the next run collects it)
    at_service: str = ""
    still_failing: tuple[KnownFailure, ...] = ()
    resources: tuple[ResourceStats, ...] = ()  # per Speech resource, when several were used
    tally: FileTally | None = None  # every file counted, when ``files`` holds only those kept
    summaries: SummaryDigest | None = None  # --summarize: what the summaries stage did (issue 21)
    # Audio of the sessions that succeeded in this run, chunks of unfinished recordings included
    # and chunks saved by earlier runs not: what the run sent (and paid for). None: not counted.
    sent_audio_seconds: float | None = None

    @property
    def succeeded_count(self) -> int:
        return self.tally.succeeded if self.tally else len(self.succeeded)

    @property
    def failed_count(self) -> int:
        return self.tally.failed if self.tally else len(self.failed)

    @property
    def cancelled_count(self) -> int:
        return self.tally.cancelled if self.tally else len(self.cancelled)

    @property
    def retried_count(self) -> int:
        return self.tally.retried if self.tally else len(self.retried)

    def transcript_outputs(self) -> Iterator[tuple[str, tuple[Path, ...]]]:
        """(source, outputs) of every succeeded file, kept or not."""
        yield from ((f.source, f.outputs) for f in self.succeeded)
        if self.tally is not None:
            yield from self.tally.spooled_outputs()

    @property
    def succeeded(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "succeeded")

    @property
    def failed(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")

    @property
    def cancelled(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "cancelled")

    @property
    def retried(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.attempts > 1)

    @property
    def audio_seconds(self) -> float:
        """The audio this run transcribed: what it sent when counted, else its finished files'."""
        if self.sent_audio_seconds is not None:
            return self.sent_audio_seconds
        return self.tally.audio_seconds if self.tally else sum(f.audio_seconds for f in self.succeeded)

    @property
    def wall_seconds(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    @property
    def throughput(self) -> float:
        """Audio seconds transcribed per wall-clock second."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.aborted:
            return EXIT_ABORTED
        if self.failed_count or (self.summaries is not None and self.summaries.has_failures):
            return EXIT_FILES_FAILED
        return EXIT_OK
