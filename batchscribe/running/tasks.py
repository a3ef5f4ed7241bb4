"""What the runner's queue holds: whole recordings (``WorkItem``) and ``Task``s, the work a
``Splitter`` (``running.chunks``) makes of a long recording: its read, which queues its chunks
as it goes, and each chunk. ``priority`` orders the queue, longest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, Union

from batchscribe.cancel import CancelToken
from batchscribe.engines.base import ProgressCallback, RecognitionRequest, Transcript
from batchscribe.errors import FileError, RunAbortedError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import Attempt, FileResult
from batchscribe.running.events import RunEvents


class TaskHost(Protocol):
    """What a task may ask of the runner that runs it (``Runner`` is one): its queue, its checks
    and how it runs sessions and ends a recording, nothing more."""

    events: RunEvents
    cancel: CancelToken

    def now(self) -> float: ...
    def add(self, tasks: Sequence[Task]) -> None: ...  # queue more tasks (a recording's chunks)
    def done_adding(self) -> None: ...  # a task that queues others is over
    def left_out(self, item: WorkItem) -> bool: ...  # not scheduled (budget, window, abort)
    def unchanged(self, item: WorkItem) -> bool: ...  # still as planned
    def changed(self, item: WorkItem, why: str = "") -> None: ...  # left for the next run
    def transcribe(self, item: WorkItem, worker: int, request: RecognitionRequest,
                   on_progress: ProgressCallback, timeline: list[Attempt], *,
                   seconds: float | None = None) -> Transcript: ...  # fmt: skip
    def deliver(self, item: WorkItem, transcript: Transcript, attempts: int, started: float,
                timeline: list[Attempt]) -> FileResult | None: ...  # fmt: skip
    def failure(self, item: WorkItem, exc: FileError | RunAbortedError, attempts: int, started: float,
                timeline: list[Attempt]) -> FileResult: ...  # fmt: skip


class Task(Protocol):
    """Queued work other than a whole recording: a long recording's read, or one of its chunks."""

    @property
    def item(self) -> WorkItem: ...
    @property
    def priority_seconds(self) -> float: ...  # longest first
    @property
    def budget_seconds(self) -> float: ...  # audio it sends (what budgets count)
    @property
    def adds_tasks(self) -> bool: ...  # workers wait for the tasks it queues
    def run(self, host: TaskHost, worker: int) -> FileResult | None: ...


Entry = Union[WorkItem, "Task"]
Splitter = Callable[[Sequence[WorkItem], int], list[Entry]]
"""(items, workers) -> what to queue: an item as it is, or tasks of it (``running.chunks``)."""


def priority(entry: Entry) -> tuple[float, str]:
    if isinstance(entry, WorkItem):
        return entry.audio.duration_s, entry.source
    return entry.priority_seconds, entry.item.source
