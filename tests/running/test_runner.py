"""The runner: bounded sessions, longest first, retries, failures recorded, fatal aborts, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import Transcript
from batchscribe.engines.fake import HANG, FakeEngine, transcript_of
from batchscribe.errors import (
    FatalEngineError,
    FileError,
    PermanentEngineError,
    TransientEngineError,
)
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult
from batchscribe.running.outcome import Budget, Written
from batchscribe.running.runner import Runner


class Events:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.retries: list[tuple[str, int]] = []
        self.finished: list[FileResult] = []
        self.lock = threading.Lock()

    def file_started(self, item: WorkItem, worker: int) -> None:
        with self.lock:
            self.started.append(item.source)

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        pass

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        with self.lock:
            self.retries.append((item.source, attempt))

    def file_finished(self, result: FileResult) -> None:
        with self.lock:
            self.finished.append(result)

    def concurrency_changed(self, limit: int) -> None:
        pass


def item(tmp_path: Path, name: str, seconds: float = 5.0, channels: int = 1) -> WorkItem:
    path = tmp_path / name
    path.write_bytes(b"RIFF")
    st = path.stat()
    return WorkItem(
        AudioFile(path=path, source=name, size=st.st_size, mtime_ns=st.st_mtime_ns),
        AudioInfo(codec="pcm_s16le", sample_rate=16000, channels=channels, duration_s=seconds),
    )


def written(item: WorkItem, transcript: Transcript, attempts: int, elapsed: float) -> Written:
    return Written((item.file.path.with_suffix(".json"),), sha256="0" * 64)


def make_runner(engine: FakeEngine, events: Events, **kwargs: object) -> Runner:
    options: dict[str, object] = {"workers": 1, "retries": 2, "retry_wait": 0.001}
    options.update(kwargs)
    return Runner(engine, written, events, **options)  # type: ignore[arg-type]


def test_longest_first_and_all_succeed(tmp_path: Path) -> None:
    items = [item(tmp_path, "short.wav", 1), item(tmp_path, "long.wav", 9), item(tmp_path, "mid.wav", 5)]
    events = Events()
    outcome = make_runner(FakeEngine(), events).run(items)
    assert events.started == ["long.wav", "mid.wav", "short.wav"]
    assert sorted(r.status for r in outcome.results) == ["succeeded"] * 3


def test_transient_failures_are_retried_then_succeed(tmp_path: Path) -> None:
    flaky = TransientEngineError("throttled", code="throttled")
    engine = FakeEngine({"a.wav": [flaky, flaky, transcript_of("hello")]})
    events = Events()
    outcome = make_runner(engine, events).run([item(tmp_path, "a.wav")])
    [result] = outcome.results
    assert result.status == "succeeded" and result.attempts == 3
    assert events.retries == [("a.wav", 1), ("a.wav", 2)]
    assert [a.outcome for a in result.timeline] == ["retried", "retried", "succeeded"]


def test_retries_exhausted_is_a_failure_with_its_reason(tmp_path: Path) -> None:
    engine = FakeEngine({"a.wav": [TransientEngineError("down", code="service_unavailable")]})
    outcome = make_runner(engine, Events(), retries=1).run([item(tmp_path, "a.wav")])
    [result] = outcome.results
    assert result.status == "failed" and result.attempts == 2
    assert result.failure is not None and result.failure.code == "service_unavailable"


def test_permanent_failure_is_not_retried_and_others_go_on(tmp_path: Path) -> None:
    engine = FakeEngine({"bad.wav": [PermanentEngineError("rejected", code="bad_request")]})
    outcome = make_runner(engine, Events(), workers=2).run(
        [item(tmp_path, "bad.wav"), item(tmp_path, "good.wav")]
    )
    by_source = {r.source: r for r in outcome.results}
    assert by_source["bad.wav"].status == "failed" and by_source["bad.wav"].attempts == 1
    assert by_source["good.wav"].status == "succeeded"


def test_fatal_error_aborts_the_run_and_schedules_nothing_more(tmp_path: Path) -> None:
    engine = FakeEngine({"a.wav": [FatalEngineError("401", code="auth_failed")]})
    items = [item(tmp_path, "a.wav", 9)] + [item(tmp_path, f"b{i}.wav", 1) for i in range(5)]
    outcome = make_runner(engine, Events()).run(items)
    assert outcome.aborted is not None
    assert [r.source for r in outcome.results] == ["a.wav"]
    assert len(outcome.not_scheduled) == 5


def test_cancel_stops_in_flight_sessions_and_leaves_the_rest(tmp_path: Path) -> None:
    engine = FakeEngine({"a.wav": [HANG]})
    cancel = CancelToken()
    runner = make_runner(engine, Events(), cancel=cancel)
    result_box: list[object] = []
    thread = threading.Thread(
        target=lambda: result_box.append(runner.run([item(tmp_path, "a.wav", 9), item(tmp_path, "b.wav", 1)]))
    )
    thread.start()
    assert engine.started.wait(5)
    cancel.cancel("interrupted")
    thread.join(5)
    assert not thread.is_alive()
    outcome = result_box[0]
    assert [r.status for r in outcome.results] == ["cancelled"]  # type: ignore[attr-defined]
    assert [i.source for i in outcome.not_scheduled] == ["b.wav"]  # type: ignore[attr-defined]


def test_budget_stops_scheduling_without_cutting_files(tmp_path: Path) -> None:
    items = [item(tmp_path, "a.wav", 10), item(tmp_path, "b.wav", 8), item(tmp_path, "c.wav", 3)]
    outcome = make_runner(FakeEngine(), Events(), budget=Budget(audio_seconds=13)).run(items)
    assert sorted(r.source for r in outcome.results) == ["a.wav", "c.wav"]
    assert [i.source for i in outcome.not_scheduled] == ["b.wav"]
    assert "budget" in outcome.stop_reason


def test_file_changed_since_discovery_is_left_for_next_run(tmp_path: Path) -> None:
    work = item(tmp_path, "growing.wav")
    work.file.path.write_bytes(b"RIFF more data")
    outcome = make_runner(FakeEngine(), Events()).run([work])
    assert outcome.results == [] and outcome.changed == [work]


def test_hard_runtime_limit_cancels_what_is_still_running(tmp_path: Path) -> None:
    import time

    engine = FakeEngine({"a.wav": [HANG]})
    budget = Budget(hard_deadline=time.monotonic())  # already over: cancels at once
    outcome = make_runner(engine, Events(), budget=budget).run([item(tmp_path, "a.wav")])
    assert [r.status for r in outcome.results] + [i.source for i in outcome.not_scheduled] in (
        ["cancelled"],
        ["a.wav"],
    )
    assert "hard limit" in outcome.stop_reason


def test_runtime_window_stops_scheduling_new_files(tmp_path: Path) -> None:
    items = [item(tmp_path, "a.wav"), item(tmp_path, "b.wav")]
    outcome = make_runner(FakeEngine(), Events(), budget=Budget(deadline=-1.0)).run(items)
    assert outcome.results == [] and len(outcome.not_scheduled) == 2
    assert "--max-runtime" in outcome.stop_reason
