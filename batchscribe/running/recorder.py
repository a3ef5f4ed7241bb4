"""What a run hears from its runner, passed on to whoever watches (``RunEvents``), with every
finished recording recorded in the ledger the moment it finishes (so a kill -9 loses none)."""

from __future__ import annotations

from batchscribe.errors import FileError
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult
from batchscribe.running.events import PlanEvents, PlanFinished, RunEvents, SessionEvents
from batchscribe.state.ledger import Ledger


class Recorder:
    """Passes events on and records every finished file in the ledger as it finishes."""

    def __init__(self, sink: RunEvents, ledger: Ledger, wanted_hash: str, run_id: str) -> None:
        self._sink = sink
        self.ledger = ledger
        self.files: dict[str, AudioFile] = {}  # queued and not finished yet, by source
        self.wanted_hash = wanted_hash
        self._run_id = run_id

    def record(self, result: FileResult) -> None:
        file = self.files.pop(result.source, None)
        # Never queued (not audio, unreadable): its stat now, so unchanged it is a known failure next night.
        stat = (file.size, file.mtime_ns, file.ctime_ns) if file is not None else _stat(result)
        size, mtime_ns, ctime_ns = stat
        self.ledger.record(result, size=size, mtime_ns=mtime_ns, sha256=result.sha256,
                           settings=self.wanted_hash, run_id=self._run_id, ctime_ns=ctime_ns)  # fmt: skip

    def planned(self, files: int, audio_seconds: float, found: int) -> None:
        if isinstance(self._sink, PlanEvents):
            self._sink.planned(files, audio_seconds, found)

    def plan_finished(self, files: int, audio_seconds: float, found: int) -> None:
        if isinstance(self._sink, PlanFinished):
            self._sink.plan_finished(files, audio_seconds, found)

    def sessions_open(self, count: int) -> None:
        if isinstance(self._sink, SessionEvents):
            self._sink.sessions_open(count)

    def file_started(self, item: WorkItem, worker: int) -> None:
        self._sink.file_started(item, worker)

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        self._sink.file_progress(item, audio_seconds)

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        self._sink.file_retrying(item, attempt, error)

    def file_finished(self, result: FileResult) -> None:
        self.record(result)
        self._sink.file_finished(result)

    def concurrency_changed(self, limit: int) -> None:
        self._sink.concurrency_changed(limit)


def _stat(result: FileResult) -> tuple[int, int, int]:
    try:
        st = result.path.stat()
    except OSError:
        return 0, 0, 0
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns
