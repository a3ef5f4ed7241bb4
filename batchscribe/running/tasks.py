"""What the runner's queue holds: whole recordings (``WorkItem``) and ``Task``s, the work a
``Splitter`` (``running.chunks``) makes of a long recording: its read, which queues its chunks
as it goes, and each chunk. ``priority`` orders the queue, longest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, Union

from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult

if TYPE_CHECKING:
    from batchscribe.running.runner import Runner


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
    def run(self, runner: Runner, worker: int) -> FileResult | None: ...


Entry = Union[WorkItem, "Task"]
Splitter = Callable[[Sequence[WorkItem], int], list[Entry]]
"""(items, workers) -> what to queue: an item as it is, or tasks of it (``running.chunks``)."""


def priority(entry: Entry) -> tuple[float, str]:
    if isinstance(entry, WorkItem):
        return entry.audio.duration_s, entry.source
    return entry.priority_seconds, entry.item.source
