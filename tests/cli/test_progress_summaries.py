"""The live view while the summaries run (after the transcripts): a status line says what the
stage is doing, and a hostile name in a retry line cannot drive the terminal."""

from __future__ import annotations

import io

from rich.console import Console

from batchscribe.cli.progress import LiveView
from batchscribe.errors import TransientEngineError
from batchscribe.running.events import Fanout, SummaryEvents
from tests.cli.test_progress import item


def test_the_live_view_shows_the_summaries_status_until_they_end() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    with LiveView(console, total_files=0, total_audio_s=0) as view:
        sink = Fanout([view])
        assert isinstance(view, SummaryEvents)
        sink.summaries_status("asking gpt for each transcript without a current summary", phase="start")
        sink.summaries_status("2 made, 0 unchanged, 0 refused, 1 failed", phase="progress")
        console.print("while summarizing")  # the live view is drawn again, its status below
        sink.summaries_status("done: 2 made, 0 unchanged, 0 refused, 1 failed", phase="end")
    screen = stream.getvalue()
    drawn_while_summarizing, drawn_last = screen.split("while summarizing", 1)[1].rsplit("\x1b[2K", 1)
    assert "sessions 0\nsummaries: 2 made, 0 unchanged, 0 refused, 1 failed" in drawn_while_summarizing
    assert "summaries:" not in drawn_last and "sessions 0" in drawn_last  # the end clears it


def test_a_retry_line_shows_a_hostile_name_escaped() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=200, color_system=None)
    hostile = item("calls/a\x1b[2J\nforged.mp3")
    with LiveView(console, total_files=1, total_audio_s=10) as view:
        view.file_started(hostile, 0)
        view.file_retrying(hostile, 1, TransientEngineError("dropped\x1b[31m", code="connection_failed"))
    screen = stream.getvalue()
    assert "retrying calls/a\\x1b[2J\\nforged.mp3: attempt 1 failed: dropped\\x1b[31m" in screen
    assert "\x1b[2J" not in screen
