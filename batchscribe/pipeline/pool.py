"""Run planned work items through an engine in a bounded, adaptive pool.

``--workers`` threads take items longest first; an ``AdaptiveLimiter`` bounds how many sessions
run at once. Each item is retried on transient errors (tenacity, exponential backoff with jitter,
the wait cut short by cancellation) and its outputs are written by the injected ``write``
function. A per-file failure is recorded in its ``FileResult``; a fatal one (credentials
rejected, disk full) cancels the run: nothing new is scheduled and in-flight sessions are
cancelled. Budgets and the runtime window stop scheduling, never cut a file in half.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from batchscribe.audio import ERROR_HINTS, AudioInfo
from batchscribe.engines.base import Engine, RecognitionRequest, Transcript
from batchscribe.errors import (
    AudioError,
    BatchscribeError,
    FatalEngineError,
    FileCancelled,
    FileError,
    RunAbortedError,
    TransientEngineError,
)
from batchscribe.names import shown
from batchscribe.pipeline.cancel import CancelToken
from batchscribe.pipeline.discovery import AudioFile
from batchscribe.pipeline.limiter import AdaptiveLimiter
from batchscribe.pipeline.retry import build_retrying
from batchscribe.results import Attempt, AttemptOutcome, Failure, FileResult, FileStatus

log = logging.getLogger(__name__)
HARD_LIMIT = "the --max-runtime grace period ended"


def _source_error(exc: OSError) -> AudioError:
    if isinstance(exc, FileNotFoundError):
        return AudioError("the file was moved or deleted during the run", code="vanished",
                          hint=ERROR_HINTS["vanished"])  # fmt: skip
    return AudioError(f"the file cannot be read ({exc.strerror or exc})", code="unreadable",
                      hint=ERROR_HINTS["unreadable"])  # fmt: skip


@dataclass(frozen=True)
class WorkItem:
    file: AudioFile
    audio: AudioInfo

    @property
    def source(self) -> str:
        return self.file.source


@dataclass(frozen=True)
class Written:
    outputs: tuple[Path, ...]  # JSON last: its presence marks the file complete
    sha256: str
    warnings: tuple[str, ...] = ()
    average_confidence: float | None = None


WriteOutputs = Callable[[WorkItem, Transcript, int, float], Written]
"""(item, transcript, attempts, elapsed_s) -> what was written."""


class RunEvents(Protocol):
    """What the runner tells the progress display. Called from worker threads."""

    def file_started(self, item: WorkItem, worker: int) -> None: ...
    def file_progress(self, item: WorkItem, audio_seconds: float) -> None: ...
    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...
    def concurrency_changed(self, limit: int) -> None: ...


class Fanout:
    """Sends every event to several sinks (e.g. the live view and a log file)."""

    def __init__(self, sinks: Sequence[RunEvents]) -> None:
        self._sinks = list(sinks)

    def file_started(self, item: WorkItem, worker: int) -> None:
        for sink in self._sinks:
            sink.file_started(item, worker)

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        for sink in self._sinks:
            sink.file_progress(item, audio_seconds)

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        for sink in self._sinks:
            sink.file_retrying(item, attempt, error)

    def file_finished(self, result: FileResult) -> None:
        for sink in self._sinks:
            sink.file_finished(result)

    def concurrency_changed(self, limit: int) -> None:
        for sink in self._sinks:
            sink.concurrency_changed(limit)


@dataclass
class Budget:
    """Audio seconds that may still be scheduled, and until when."""

    audio_seconds: float | None = None
    deadline: float | None = None  # monotonic time after which nothing new starts
    hard_deadline: float | None = None  # monotonic time at which in-flight files are cancelled
    scheduled: float = 0.0
    exceeded: str = ""

    def admit(self, item: WorkItem, now: float) -> bool:
        if self.deadline is not None and now >= self.deadline:
            self.exceeded = self.exceeded or "the --max-runtime window ended"
            return False
        if self.audio_seconds is not None and self.scheduled + item.audio.duration_s > self.audio_seconds:
            self.exceeded = self.exceeded or "the audio-hours/cost budget was reached"
            return False
        self.scheduled += item.audio.duration_s
        return True


@dataclass
class RunOutcome:
    results: list[FileResult] = field(default_factory=list)
    not_scheduled: list[WorkItem] = field(default_factory=list)
    changed: list[WorkItem] = field(default_factory=list)
    aborted: BatchscribeError | None = None
    stop_reason: str = ""


class Runner:
    """Executes work items; one instance per run."""

    def __init__(
        self,
        engine: Engine,
        write: WriteOutputs,
        events: RunEvents,
        *,
        workers: int,
        retries: int,
        channels: str = "mix",
        cancel: CancelToken | None = None,
        budget: Budget | None = None,
        limiter: AdaptiveLimiter | None = None,
        retry_wait: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._write = write
        self._events = events
        self._workers = workers
        self._retries = retries
        self._channels = channels
        # Our own token: an abort (fatal error) cancels this run only, never the caller's token,
        # which means "the user interrupted" and may span several jobs.
        self.cancel = CancelToken()
        if cancel is not None:
            cancel.on_cancel(lambda: self.cancel.cancel(cancel.reason))
        self._budget = budget or Budget()
        self.limiter = limiter or AdaptiveLimiter(workers, start=workers)
        self._retry_wait = retry_wait
        self._clock = clock
        self._t0 = clock()
        self._lock = threading.Lock()
        self._queue: list[WorkItem] = []
        self._outcome = RunOutcome()

    def run(self, items: Sequence[WorkItem]) -> RunOutcome:
        # Longest first: the run's length is bounded below by its longest file, so start it early.
        self._queue = sorted(items, key=lambda i: (-i.audio.duration_s, i.source), reverse=True)
        threads = [
            threading.Thread(target=self._work, args=(n,), name=f"batchscribe-worker-{n}", daemon=True)
            for n in range(min(self._workers, len(self._queue)))
        ]
        hard_stop = None
        if self._budget.hard_deadline is not None:
            hard_stop = threading.Timer(
                max(0.0, self._budget.hard_deadline - self._clock()), self.cancel.cancel, args=(HARD_LIMIT,)
            )
            hard_stop.daemon = True
            hard_stop.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if hard_stop is not None:
            hard_stop.cancel()
        with self._lock:
            self._outcome.not_scheduled.extend(reversed(self._queue))
            self._queue.clear()
            self._outcome.stop_reason = self._budget.exceeded
            if self.cancel.reason == HARD_LIMIT:
                self._outcome.stop_reason += "; files still running at the hard limit were cancelled"
        return self._outcome

    def _next(self) -> WorkItem | None:
        with self._lock:
            while self._queue and not self.cancel.is_cancelled():
                item = self._queue.pop()
                if self._budget.admit(item, self._clock()):
                    return item
                self._outcome.not_scheduled.append(item)
            return None

    def _work(self, worker: int) -> None:
        while (item := self._next()) is not None:
            try:
                result = self._process(item, worker)
            except Exception as exc:  # a bug must fail one file, not silently kill a worker
                log.error("internal error while processing %s: %r", shown(item.source), exc,
                          exc_info=log.isEnabledFor(logging.DEBUG))  # a traceback with --verbose only
                error = FileError(
                    f"internal error: {exc!r}",
                    code="internal_error",
                    hint="run again with --verbose and report it",
                )
                result = self._result(item, "failed", 0, self._clock(), [], error)
            if result is None:
                continue
            with self._lock:
                self._outcome.results.append(result)
            try:  # recording it can fail too (the state on a full disk): that ends the run, not a thread
                self._events.file_finished(result)
            except BatchscribeError as exc:
                self._abort(exc)
            except Exception as exc:
                log.error("internal error after %s: %r", shown(item.source), exc,
                          exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip
                hint = "run again with --verbose and report it"
                self._abort(RunAbortedError(f"internal error: {exc!r}", hint=hint))

    def _abort(self, error: BatchscribeError) -> None:
        with self._lock:
            if self._outcome.aborted is None:
                self._outcome.aborted = error
        self.cancel.cancel(f"run aborted: {error.message}")

    def _unchanged(self, item: WorkItem) -> bool:
        try:
            st = item.file.path.stat()
        except OSError:
            return True  # vanished: the engine's open reports it as a per-file failure
        return st.st_size == item.file.size and st.st_mtime_ns == item.file.mtime_ns

    def _process(self, item: WorkItem, worker: int) -> FileResult | None:
        if not self._unchanged(item):
            with self._lock:
                self._outcome.changed.append(item)
            return None  # still being written: left for the next run
        started = self._clock()
        timeline: list[Attempt] = []
        attempts = 0
        self._events.file_started(item, worker)
        try:
            for attempt in build_retrying(self._retries, self.cancel, initial_wait=self._retry_wait):
                with attempt:
                    attempts += 1
                    transcript = self._attempt(item, worker, attempts, timeline)
            written = self._write(item, transcript, attempts, self._clock() - started)
            return FileResult(
                source=item.source,
                path=item.file.path,
                status="succeeded",
                audio=item.audio,
                attempts=attempts,
                outputs=written.outputs,
                sha256=written.sha256,
                warnings=written.warnings,
                elapsed_s=self._clock() - started,
                timeline=tuple(timeline),
                average_confidence=written.average_confidence,
            )
        except FileCancelled as exc:
            return self._result(item, "cancelled", attempts, started, timeline, exc)
        except FatalEngineError as exc:
            self._abort(RunAbortedError(exc.message, hint=exc.hint))
            return self._result(item, "failed", attempts, started, timeline, exc)
        except FileError as exc:
            return self._result(item, "failed", attempts, started, timeline, exc)
        except OSError as exc:  # the recording vanished or became unreadable after its transcription
            return self._result(item, "failed", attempts, started, timeline, _source_error(exc))
        except RunAbortedError as exc:  # e.g. out of disk while writing outputs
            self._abort(exc)
            return self._result(item, "cancelled", attempts, started, timeline, FileCancelled(exc.message))

    def _attempt(self, item: WorkItem, worker: int, number: int, timeline: list[Attempt]) -> Transcript:
        began = self._clock() - self._t0
        outcome: AttemptOutcome = "succeeded"
        error_code = ""
        try:
            if self.cancel.is_cancelled():
                raise FileCancelled(self.cancel.reason)
            with self.limiter.slot(self.cancel) as acquired:
                if not acquired:
                    raise FileCancelled(self.cancel.reason)
                transcript = self._transcribe(item)
            self.limiter.succeeded()
            return transcript
        except TransientEngineError as exc:
            error_code = exc.code
            if exc.code == "throttled":
                self.limiter.throttled_by_service()
            last = number > self._retries
            outcome = "failed" if last else "retried"
            if not last:
                self._events.file_retrying(item, number, exc)
            raise
        except FileCancelled:
            outcome, error_code = "cancelled", "cancelled"
            raise
        except FileError as exc:
            outcome, error_code = "failed", exc.code
            raise
        finally:
            timeline.append(Attempt(worker, began, self._clock() - self._t0, outcome, error_code))

    def _transcribe(self, item: WorkItem) -> Transcript:
        def progress(seconds: float) -> None:
            self._events.file_progress(item, seconds)

        if self._channels != "separate" or item.audio.channels < 2:
            request = RecognitionRequest(item.file.path, item.audio, label=item.source)
            return self._engine.transcribe(request, on_progress=progress, cancel=self.cancel)
        # One session per channel (agent and customer), phrases interleaved by time.
        parts = [
            self._engine.transcribe(
                RecognitionRequest(item.file.path, item.audio, channel=ch, label=item.source),
                on_progress=progress,
                cancel=self.cancel,
            )
            for ch in range(item.audio.channels)
        ]
        phrases = sorted((p for t in parts for p in t.phrases), key=lambda p: (p.offset_ticks, p.channel))
        return Transcript(phrases=tuple(phrases), warnings=tuple(w for t in parts for w in t.warnings))

    def _result(
        self,
        item: WorkItem,
        status: FileStatus,
        attempts: int,
        started: float,
        timeline: list[Attempt],
        error: FileError,
    ) -> FileResult:
        return FileResult(
            source=item.source,
            path=item.file.path,
            status=status,
            audio=item.audio,
            attempts=attempts,
            failure=None if status == "cancelled" else Failure.from_error(error),
            elapsed_s=self._clock() - started,
            timeline=tuple(timeline),
        )
