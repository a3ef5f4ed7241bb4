"""What the runner tells whoever watches a run (the live view, log lines): ``RunEvents``.

Called from worker threads. ``Fanout`` sends every event to several sinks; a sink that also
implements ``PlanEvents`` hears how much is planned so far, while planning goes on, and one that
implements ``PlanFinished`` hears the whole plan once planning is over; ``SessionEvents``, how many
recognition sessions are open (a recording split into chunks holds several at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from batchscribe.errors import FileError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult


class RunEvents(Protocol):
    """What the runner tells the progress display. Called from worker threads."""

    def file_started(self, item: WorkItem, worker: int) -> None: ...
    def file_progress(self, item: WorkItem, audio_seconds: float) -> None: ...
    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...
    def concurrency_changed(self, limit: int) -> None: ...


@runtime_checkable
class PlanEvents(Protocol):
    """A sink that also hears how much is planned so far (the live view's totals grow with it)."""

    def planned(self, files: int, audio_seconds: float, found: int) -> None: ...


@runtime_checkable
class PlanFinished(Protocol):
    """A sink that hears the whole plan once planning is over (a log says at once what the night holds)."""

    def plan_finished(self, files: int, audio_seconds: float, found: int) -> None: ...


@runtime_checkable
class SessionEvents(Protocol):
    """A sink that hears how many recognition sessions are open now (every chunk's counts)."""

    def sessions_open(self, count: int) -> None: ...


@runtime_checkable
class JobEvents(Protocol):
    """What a sink hears of batch jobs (``--engine batch``), if it wants to: each job's state
    when submitted, at every poll and when collected, with its age in seconds."""

    def job_changed(self, name: str, job_id: str, state: str, age_s: float, recordings: int) -> None: ...


@runtime_checkable
class UploadEvents(Protocol):
    """What a sink hears of a batch job's uploads while they go (``--engine batch``): recordings
    and bytes done of the job's totals (bytes already in the container count as done), a few
    times a second at most, and once more when the job's uploads are over."""

    def upload_progress(
        self, name: str, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None: ...


@runtime_checkable
class SummaryEvents(Protocol):
    """A sink that also hears how the summaries stage goes, after the transcripts (``--summarize``):
    ``phase`` is "start", "progress" (a summary finished) or "end"."""

    def summaries_status(self, message: str, *, phase: str) -> None: ...


class Fanout:
    """Sends every event to several sinks (e.g. the live view and a log file)."""

    def sessions_open(self, count: int) -> None:
        for sink in self._sinks:
            if isinstance(sink, SessionEvents):
                sink.sessions_open(count)

    def plan_finished(self, files: int, audio_seconds: float, found: int) -> None:
        for sink in self._sinks:
            if isinstance(sink, PlanFinished):
                sink.plan_finished(files, audio_seconds, found)

    def planned(self, files: int, audio_seconds: float, found: int) -> None:
        for sink in self._sinks:
            if isinstance(sink, PlanEvents):
                sink.planned(files, audio_seconds, found)

    def __init__(self, sinks: Sequence[RunEvents]) -> None:
        self._sinks = list(sinks)

    def summaries_status(self, message: str, *, phase: str) -> None:
        for sink in self._sinks:
            if isinstance(sink, SummaryEvents):
                sink.summaries_status(message, phase=phase)

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

    def job_changed(self, name: str, job_id: str, state: str, age_s: float, recordings: int) -> None:
        for sink in self._sinks:
            if isinstance(sink, JobEvents):
                sink.job_changed(name, job_id, state, age_s, recordings)

    def upload_progress(
        self, name: str, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None:
        for sink in self._sinks:
            if isinstance(sink, UploadEvents):
                sink.upload_progress(name, files_done, files_total, bytes_done, bytes_total)

    def concurrency_changed(self, limit: int) -> None:
        for sink in self._sinks:
            sink.concurrency_changed(limit)
