"""A recording's ``FileResult``, built in one place for the runner and its chunk tasks.

``succeeded`` is a transcript written to its outputs (``Written``); ``ended`` is a recording that
failed or was cancelled, with the error that ended it (a cancelled one carries no ``Failure``: it
is not the file's fault and it is tried again next run). Both keep the attempts' timeline.
"""

from __future__ import annotations

from collections.abc import Sequence

from batchscribe.errors import FileError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import Attempt, Failure, FileResult, FileStatus
from batchscribe.running.outcome import Written


def succeeded(
    item: WorkItem, written: Written, attempts: int, elapsed_s: float, timeline: Sequence[Attempt]
) -> FileResult:
    """``item`` transcribed and its outputs written."""
    return FileResult(
        source=item.source,
        path=item.file.path,
        status="succeeded",
        audio=item.audio,
        attempts=attempts,
        outputs=written.outputs,
        sha256=written.sha256,
        warnings=written.warnings,
        elapsed_s=elapsed_s,
        timeline=tuple(timeline),
        average_confidence=written.average_confidence,
    )


def ended(
    item: WorkItem,
    status: FileStatus,
    attempts: int,
    elapsed_s: float,
    timeline: Sequence[Attempt],
    error: FileError,
) -> FileResult:
    """``item`` failed or was cancelled by ``error``."""
    return FileResult(
        source=item.source,
        path=item.file.path,
        status=status,
        audio=item.audio,
        attempts=attempts,
        failure=None if status == "cancelled" else Failure.from_error(error),
        elapsed_s=elapsed_s,
        timeline=tuple(timeline),
    )
