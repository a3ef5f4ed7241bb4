"""Run planned work items through an engine, a bounded, adaptive number at once.

``--workers`` threads take items longest first; an ``AdaptiveLimiter`` bounds how many sessions
run at once. Each item is retried on transient errors (tenacity, exponential backoff with jitter,
the wait cut short by cancellation) and its outputs are written by the injected ``write``
function. A per-file failure is recorded in its ``FileResult``; a fatal one (credentials
rejected, disk full) cancels the run: nothing new is scheduled and in-flight sessions are
cancelled. Budgets and the runtime window stop scheduling, never cut a file in half.

A ``splitter`` (``running.chunks``) may turn long items into ``Task``s: a recording's read, which
queues its chunks as it goes, each chunk its own session. The queue is longest first over files
and chunks alike; workers wait for chunks while a read is still going.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Sequence

from batchscribe.cancel import CancelToken, join_attentively
from batchscribe.engines.base import Engine, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.errors import (
    BatchscribeError,
    FatalEngineError,
    FileCancelled,
    FileError,
    RunAbortedError,
    TransientEngineError,
    source_error,
)
from batchscribe.names import shown
from batchscribe.planning.planner import WorkItem
from batchscribe.resources.limiter import AdaptiveLimiter
from batchscribe.resources.outage import OutageGuard
from batchscribe.results import Attempt, AttemptOutcome, Failure, FileResult, FileStatus
from batchscribe.running.events import RunEvents, SessionEvents
from batchscribe.running.outcome import Budget, RunOutcome, WriteOutputs
from batchscribe.running.retry import build_retrying
from batchscribe.running.tasks import Entry, Splitter, Task, priority

log = logging.getLogger(__name__)
HARD_LIMIT = "the --max-runtime grace period ended"



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
        cancel: CancelToken | None = None,
        budget: Budget | None = None,
        limiter: AdaptiveLimiter | None = None,
        retry_wait: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        outage: OutageGuard | None = None,
        splitter: Splitter | None = None,
    ) -> None:
        self._engine = engine
        self.events = events
        self._write = write
        self._workers = workers
        self._retries = retries
        # Our own token: an abort (fatal error) cancels this run only, never the caller's token,
        # which means "the user interrupted" and may span several jobs.
        self.cancel = CancelToken()
        if cancel is not None:
            cancel.on_cancel(lambda: self.cancel.cancel(cancel.reason))
        self._budget = budget or Budget()
        self.limiter = limiter or AdaptiveLimiter(workers, start=workers)
        self._retry_wait = retry_wait
        self._outage = outage or OutageGuard(clock=clock)
        self._open_sessions = 0
        self.peak_sessions = 0  # sessions actually open at once, at most (not the limiter's limit)
        self._clock = clock
        self._t0 = clock()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: list[Entry] = []  # ascending priority: the longest is popped first
        self._adding = 0  # queued or running tasks that may still queue more
        self._feed_waiting = False  # planning waits for room in the queue (``feed``)
        self._splitter = splitter
        self._left_out: set[str] = set()
        self._given: set[str] = set()  # recordings with a result (a split one's chunks may be left out)
        self._outcome = RunOutcome()

    def run(self, items: Sequence[WorkItem]) -> RunOutcome:
        # Longest first: the run's length is bounded below by its longest file, so start it early.
        entries = self._splitter(items, self._workers) if self._splitter else list(items)
        with self._lock:
            self._queue = sorted([*self._queue, *entries], key=priority)
            self._adding += sum(1 for e in entries if not isinstance(e, WorkItem) and e.adds_tasks)
        count = self._workers if self._adding else min(self._workers, len(self._queue))
        threads = [
            threading.Thread(target=self._work, args=(n,), name=f"batchscribe-worker-{n}", daemon=True)
            for n in range(count)
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
            join_attentively(thread)
        if hard_stop is not None:
            hard_stop.cancel()
        with self._lock:
            for entry in reversed(self._queue):
                self._leave_out(entry)
            self._queue.clear()
            # A recording is counted once: one whose running chunk was cancelled is not also "not scheduled".
            left = self._outcome.not_scheduled
            self._outcome.not_scheduled = [item for item in left if item.source not in self._given]
            self._outcome.stop_reason = self._budget.exceeded
            self._outcome.peak_sessions = self.peak_sessions
            if self.cancel.reason == HARD_LIMIT:
                self._outcome.stop_reason += "; files still running at the hard limit were cancelled"
        return self._outcome

    def expect_items(self) -> None:
        """Items will be fed while the run goes on (``feed``) until ``done_adding``: workers wait."""
        with self._wake:
            self._adding += 1

    def feed(self, items: Sequence[WorkItem], *, ahead: int | None = None) -> bool:
        """Queue items planned while the run goes on, longest first with what is queued; wait
        while ``ahead`` entries are queued already. False once the run is cancelled: the items
        are left for the next run and nothing more should be fed."""
        entries = self._splitter(items, self._workers) if self._splitter else list(items)
        with self._wake:
            while ahead is not None and len(self._queue) >= ahead and not self.cancel.is_cancelled():
                self._feed_waiting = True
                self._wake.wait(1.0)  # woken as workers take entries; the timeout rechecks cancel
            self._feed_waiting = False
            if self.cancel.is_cancelled():
                for entry in entries:
                    self._leave_out(entry, counted=False)
                return False
            for entry in entries:
                bisect.insort(self._queue, entry, key=priority)
                self._adding += not isinstance(entry, WorkItem) and entry.adds_tasks
            self._wake.notify_all()
        return True

    def add(self, tasks: Sequence[Task]) -> None:
        """Queue more tasks (a recording's chunks, as its read finds them)."""
        with self._wake:
            for task in tasks:
                bisect.insort(self._queue, task, key=priority)
                self._adding += task.adds_tasks
            self._wake.notify_all()

    def done_adding(self) -> None:
        """A task that queues others is over: workers need not wait for it any more."""
        with self._wake:
            self._adding -= 1
            self._wake.notify_all()

    def _leave_out(self, entry: Entry, *, counted: bool = True) -> None:
        """Not scheduled (budget, window, abort): the recording is left for the next run."""
        item = entry if isinstance(entry, WorkItem) else entry.item
        if counted and not isinstance(entry, WorkItem) and entry.adds_tasks:
            self._adding -= 1
        if item.source not in self._left_out:
            self._left_out.add(item.source)
            self._outcome.not_scheduled.append(item)

    def left_out(self, item: WorkItem) -> bool:
        with self._lock:
            return item.source in self._left_out

    def _next(self) -> Entry | None:
        with self._wake:
            while not self.cancel.is_cancelled():
                if self._queue:
                    entry = self._queue.pop()
                    if self._feed_waiting:
                        self._wake.notify_all()  # room for the feed waiting on a full queue
                    seconds = entry.audio.duration_s if isinstance(entry, WorkItem) else entry.budget_seconds
                    if self._budget.admit_seconds(seconds, self._clock()):
                        return entry
                    self._leave_out(entry)
                elif self._adding > 0:
                    self._wake.wait(1.0)  # woken by add/done_adding; the timeout rechecks cancel
                else:
                    return None
            return None

    def _work(self, worker: int) -> None:
        while (entry := self._next()) is not None:
            item = entry if isinstance(entry, WorkItem) else entry.item
            try:
                if isinstance(entry, WorkItem):
                    result = self._process(entry, worker)
                else:
                    result = entry.run(self, worker)
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
            self.finished(result)

    def finished(self, result: FileResult) -> None:
        with self._lock:
            self._outcome.tally.add(result)
            self._given.add(result.source)
        try:  # recording it can fail too (the state on a full disk): that ends the run, not a thread
            self.events.file_finished(result)
        except BatchscribeError as exc:
            self.abort(exc)
        except Exception as exc:
            log.error("internal error after %s: %r", shown(result.source), exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip
            hint = "run again with --verbose and report it"
            self.abort(RunAbortedError(f"internal error: {exc!r}", hint=hint))

    def abort(self, error: BatchscribeError) -> None:
        """End the run for a fatal error (nothing new starts, sessions are cancelled)."""
        with self._lock:
            if self._outcome.aborted is None:
                self._outcome.aborted = error
        self.cancel.cancel(f"run aborted: {error.message}")

    def changed(self, item: WorkItem, why: str = "") -> None:
        """Left for the next run: it changed before or while it was transcribed."""
        if why:
            log.warning("%s: %s; left for the next run", item.source, why)
        with self._lock:
            self._outcome.changed.append(item)

    def now(self) -> float:
        return self._clock()

    def unchanged(self, item: WorkItem) -> bool:
        try:
            st = item.file.path.stat()
        except OSError:
            return True  # vanished: the engine's open reports it as a per-file failure
        return st.st_size == item.file.size and st.st_mtime_ns == item.file.mtime_ns

    def _process(self, item: WorkItem, worker: int) -> FileResult | None:
        if not self.unchanged(item):
            with self._lock:
                self._outcome.changed.append(item)
            return None  # still being written: left for the next run
        started = self._clock()
        timeline: list[Attempt] = []  # one entry per attempt: its length counts them
        self.events.file_started(item, worker)
        request = RecognitionRequest(item.file.path, item.audio, label=item.source)
        try:
            transcript = self.transcribe(item, worker, request, self._progress_of(item), timeline)
            return self.deliver(item, transcript, len(timeline), started, timeline)
        except (FileError, RunAbortedError) as exc:
            return self.failure(item, exc, len(timeline), started, timeline)
        except OSError as exc:  # the recording vanished or became unreadable while it was read
            return self.failure(item, source_error(exc), len(timeline), started, timeline)

    def transcribe(self, item: WorkItem, worker: int, request: RecognitionRequest,
                   on_progress: ProgressCallback, timeline: list[Attempt], *,
                   seconds: float | None = None) -> Transcript:  # fmt: skip
        """One session of ``request`` (``item`` or a part of it, e.g. a chunk) through the limiter,
        retried on transient errors; each attempt is added to ``timeline`` (its length counts them).
        ``seconds``: the audio it sends (a chunk's), counted as sent once it succeeded."""

        def session() -> Transcript:
            return self._engine.transcribe(request, on_progress=on_progress, cancel=self.cancel)

        number = 0
        for attempt in build_retrying(self._retries, self.cancel, initial_wait=self._retry_wait):
            with attempt:
                number += 1
                transcript = self._attempt(item, worker, number, timeline, session)
        with self._lock:
            self._outcome.sent_seconds += item.audio.duration_s if seconds is None else seconds
        return transcript

    def deliver(self, item: WorkItem, transcript: Transcript, attempts: int, started: float,
                timeline: list[Attempt]) -> FileResult | None:  # fmt: skip
        """Write a finished transcript; None when the recording changed meanwhile."""
        receipt = transcript.receipt
        if why := receipt.change(size=item.file.size, mtime_ns=item.file.mtime_ns) if receipt else "":
            self.changed(item, why)
            return None  # never recorded as done: the transcript may not be of what is there
        item = item.as_decoded(receipt)
        try:
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
        except (FileError, RunAbortedError) as exc:
            return self.failure(item, exc, attempts, started, timeline)
        except OSError as exc:  # the recording vanished or became unreadable after its transcription
            return self.failure(item, source_error(exc), attempts, started, timeline)

    def failure(self, item: WorkItem, exc: FileError | RunAbortedError, attempts: int, started: float,
                timeline: list[Attempt]) -> FileResult:  # fmt: skip
        """The result of a recording that failed or was cancelled; a fatal error aborts the run."""
        if isinstance(exc, RunAbortedError):  # e.g. out of disk while writing outputs
            self.abort(exc)
            return self._result(item, "cancelled", attempts, started, timeline, FileCancelled(exc.message))
        if isinstance(exc, FileCancelled):
            return self._result(item, "cancelled", attempts, started, timeline, exc)
        if isinstance(exc, FatalEngineError):
            self.abort(RunAbortedError(exc.message, hint=exc.hint))
        return self._result(item, "failed", attempts, started, timeline, exc)

    def _attempt(self, item: WorkItem, worker: int, number: int, timeline: list[Attempt],
                 transcribe: Callable[[], Transcript]) -> Transcript:  # fmt: skip
        began = self._clock() - self._t0
        outcome: AttemptOutcome = "succeeded"
        error_code = error_class = reason = ""
        try:
            if self.cancel.is_cancelled():
                raise FileCancelled(self.cancel.reason)
            with self.limiter.slot(self.cancel) as acquired:
                if not acquired:
                    raise FileCancelled(self.cancel.reason)
                transcript = self._counted(transcribe)
            self.limiter.succeeded()
            self._outage.succeeded()
            return transcript
        except TransientEngineError as exc:
            error_code, error_class, reason = exc.code, exc.error_class, exc.message
            stop = self._outage.failed(exc)
            if stop is not None:  # the service cannot be reached: nothing wrong with this file
                self.abort(stop)
                outcome, error_code = "cancelled", exc.code
                raise FileCancelled(stop.message) from exc
            if exc.code == "throttled":
                self.limiter.throttled_by_service()
            last = number > self._retries
            outcome = "failed" if last else "retried"
            if not last:
                self.events.file_retrying(item, number, exc)
            raise
        except FileCancelled as exc:
            outcome, error_code, error_class, reason = "cancelled", "cancelled", "cancelled", exc.message
            raise
        except FileError as exc:
            self._outage.failed(exc)
            outcome, error_code, error_class, reason = "failed", exc.code, exc.error_class, exc.message
            raise
        finally:
            ended = self._clock() - self._t0
            timeline.append(Attempt(worker, began, ended, outcome, error_code, error_class, reason))

    def _counted(self, transcribe: Callable[[], Transcript]) -> Transcript:
        """Run one session, counting the sessions open at once (not the limiter's setting)."""
        with self._lock:
            self._open_sessions += 1
            self.peak_sessions = max(self.peak_sessions, self._open_sessions)
            self._tell_sessions()
        try:
            return transcribe()
        finally:
            with self._lock:
                self._open_sessions -= 1
                self._tell_sessions()

    def _tell_sessions(self) -> None:
        """The watchers hear the open sessions in order (called with the lock held)."""
        if isinstance(self.events, SessionEvents):
            self.events.sessions_open(self._open_sessions)

    def _progress_of(self, item: WorkItem) -> ProgressCallback:
        return lambda seconds: self.events.file_progress(item, seconds)

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
