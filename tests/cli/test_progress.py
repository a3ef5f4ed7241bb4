"""What people see while a run goes: the live view on a terminal, plain or JSON lines for cron."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

from rich.console import Console

from batchscribe.audio import AudioInfo
from batchscribe.cli.progress import LineLog, LiveView
from batchscribe.errors import TransientEngineError
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.results import Failure, FileResult
from batchscribe.secrets import Redactor

KEY = "0123456789abcdef0123456789abcdef"


def item(name: str, seconds: float = 10.0) -> WorkItem:
    return WorkItem(
        AudioFile(path=Path("/r") / name, source=name, size=1, mtime_ns=1),
        AudioInfo(codec="mp3", sample_rate=44100, channels=2, duration_s=seconds),
    )


def done(work: WorkItem) -> FileResult:
    return FileResult(
        source=work.source,
        path=work.file.path,
        status="succeeded",
        audio=work.audio,
        attempts=1,
        elapsed_s=2.0,
    )


def failed(work: WorkItem) -> FileResult:
    failure = Failure(
        code="throttled", error_class="transient", message=f"throttled for key {KEY}", hint="lower --workers"
    )
    return FileResult(
        source=work.source,
        path=work.file.path,
        status="failed",
        audio=work.audio,
        attempts=4,
        failure=failure,
    )


def test_live_view_shows_totals_active_files_and_counts() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    a, b = item("calls/a.mp3", 10), item("calls/b.mp3", 30)
    with LiveView(console, total_files=2, total_audio_s=40, found=3) as view:
        view.concurrency_changed(7)  # the limiter's allowance is not what runs
        view.file_started(a, 0)
        view.file_started(b, 1)
        view.file_progress(b, 15)
        view.file_progress(a, 8)
        view.file_retrying(a, 1, TransientEngineError("the connection dropped", code="connection_failed"))
        view.file_progress(a, 10)
        view.file_finished(done(a))
    screen = stream.getvalue()
    assert "2 to transcribe of 3 found" in screen and "calls/b.mp3" in screen
    assert "retrying calls/a.mp3: attempt 1 failed: the connection dropped [connection_failed]" in screen
    last_status = re.findall(r"done \d+\s+failed \d+\s+retrying \d+\s+sessions \d+", screen)[-1]
    assert last_status.split() == ["done", "1", "failed", "0", "retrying", "0", "sessions", "1"]
    assert "concurrency 7" not in screen
    # 10 s done + 8 s sent again + 15 s of b, out of 40 + 8: the retry is counted, not hidden
    assert re.findall(r"(\d+)%", screen.split("calls/b.mp3")[0])  # the overall bar is drawn
    overall = view._progress.tasks[0]
    assert overall.completed == 33 and overall.total == 48


def test_plain_lines_are_timestamped_and_mask_the_key() -> None:
    stream = io.StringIO()
    log = LineLog(stream, run_id="r1", redact=Redactor([KEY]))
    log.file_finished(done(item("a.mp3")))
    log.file_finished(failed(item("b.mp3")))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (done|failed) ", line) for line in lines)
    assert KEY not in stream.getvalue() and "***" in lines[1]


def test_json_lines_carry_the_run_id_and_quiet_keeps_only_failures() -> None:
    stream = io.StringIO()
    log = LineLog(stream, run_id="r7", json_lines=True, quiet=True)
    log.file_finished(done(item("a.mp3")))
    log.file_finished(failed(item("b.mp3")))
    [record] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert record["run_id"] == "r7" and record["event"] == "failed" and record["code"] == "throttled"
    assert record["source"] == "b.mp3" and record["attempts"] == 4


def test_identical_warnings_are_grouped_in_plain_lines_but_kept_in_json() -> None:
    placeholder = "placeholder text: the emulator has no script for this recording"
    results = [
        dataclasses.replace(done(item(f"call{n:02d}.mp3")), warnings=(placeholder,)) for n in range(20)
    ]
    results.append(dataclasses.replace(done(item("cut.mp3")), warnings=("decoding stopped early",)))
    stream = io.StringIO()
    log = LineLog(stream, run_id="r1")
    for result in results:
        log.file_finished(result)
    warnings = [
        line.split(" ", 1)[1].strip() for line in stream.getvalue().splitlines() if " warning " in line
    ]
    assert warnings == [
        f"warning   call00.mp3: {placeholder}",
        "warning   call01.mp3: placeholder text too; more files with this warning: see the summary",
        "warning   cut.mp3: decoding stopped early",
    ]
    stream = io.StringIO()
    log = LineLog(stream, run_id="r1", json_lines=True)
    for result in results:
        log.file_finished(result)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len([r for r in records if r["event"] == "warning"]) == 21  # tools group them themselves


def test_live_view_counts_every_open_session_of_a_chunked_recording() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    long = item("meetings/long.wav", 1200)
    with LiveView(console, total_files=1, total_audio_s=1200) as view:
        view.file_started(long, 0)  # one recording...
        for count in range(1, 9):
            view.sessions_open(count)  # ...eight chunk sessions open at once
        view.file_progress(long, 100)
    last_status = re.findall(r"done \d+\s+failed \d+\s+retrying \d+\s+sessions \d+", stream.getvalue())[-1]
    assert last_status.split()[-2:] == ["sessions", "8"]


def test_live_view_shows_a_moving_upload_line_per_job_and_logs_one_line_when_it_is_over() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=140, color_system=None)
    job = "batchscribe 20260101T000000Z-abcd job 3"
    with LiveView(console, total_files=1000, total_audio_s=3600) as view:
        view.file_started(item("a.mp3"), 0)  # a task added and removed before: the upload's line
        view.file_finished(done(item("a.mp3")))  # is not found by its position
        view.upload_progress(job, 0, 1000, 0, 3_400_000_000)
        view.upload_progress(job, 412, 1000, 1_200_000_000, 3_400_000_000)
        upload_line = view._progress.tasks[-1]
        assert upload_line.description.strip() == "uploading job 3: 412 of 1,000 recordings, 1.2 of 3.4 GB"
        assert upload_line.completed == 1_200_000_000
        view._live.refresh()  # drawn now, not at the next of its four refreshes a second
        view.upload_progress(job, 1000, 1000, 3_400_000_000, 3_400_000_000)
        assert len(view._progress.tasks) == 1  # the job's uploads are over: its line is gone
    assert "uploading job 3: 412 of 1,000 recordings, 1.2 of 3.4 GB" in stream.getvalue()

    lines = io.StringIO()
    log = LineLog(lines, run_id="r1")
    for done_files, sent in ((0, 0), (1, 400_000), (2, 1_000_000)):
        log.upload_progress(job, done_files, 2, sent, 1_000_000)
    [line] = lines.getvalue().splitlines()  # not one per recording: one when the job's uploads are over
    assert line.endswith(f"uploaded  {job}: uploads done, 2 recording(s), 1.0 of 1.0 MB")
    quiet = io.StringIO()
    LineLog(quiet, run_id="r1", quiet=True).upload_progress(job, 2, 2, 10, 10)
    assert quiet.getvalue() == ""
