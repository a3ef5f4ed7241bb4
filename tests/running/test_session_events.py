"""The runner tells its watchers how many sessions are open, every chunk of a recording counted."""

from __future__ import annotations

import threading
from pathlib import Path

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator
from batchscribe.emulator.synth import burst_samples, write_wav
from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import FileError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult
from batchscribe.running.run import run_batch


class Sessions:
    """RunEvents that keeps the open-session counts it is told."""

    def __init__(self) -> None:
        self.counts: list[int] = []
        self._lock = threading.Lock()

    def sessions_open(self, count: int) -> None:
        with self._lock:
            self.counts.append(count)

    def file_started(self, item: WorkItem, worker: int) -> None:
        pass

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        pass

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        pass

    def concurrency_changed(self, limit: int) -> None:
        pass


def test_each_chunk_session_of_one_recording_counts_as_open(tmp_path: Path) -> None:
    write_wav(tmp_path / "in" / "long.wav", burst_samples(6, 240.0))
    sessions = Sessions()
    with Emulator() as emulator:
        settings = RunSettings(
            inputs=(tmp_path / "in",), out=tmp_path / "out",
            endpoint=Endpoint(kind="emulator", key="emulator", url=emulator.url),
            options=RecognitionOptions(), workers=4, retries=0, stall_timeout=20, sdk_send_rate=20.0,
            chunk_seconds=60.0,
        )  # fmt: skip
        result = run_batch(settings, events=sessions, slow_start=False)
    assert result.succeeded_count == 1 and result.exit_code == 0
    assert max(sessions.counts) >= 2  # one recording, several of its chunks at once
    assert sessions.counts[-1] == 0  # and every session closed again
