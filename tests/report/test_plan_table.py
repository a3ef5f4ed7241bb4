"""The plan's table in a terminal: one job, or several with their total."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from batchscribe.audio import AudioInfo
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import Plan, WorkItem
from batchscribe.report.plan_table import COLUMNS, plan_row, render_plan, total_row


def _row(job: str) -> dict[str, object]:
    return {
        **{c: (job if c == "job" else 0) for c in COLUMNS},
        "audio_seconds": 0,
        "wall_estimate_seconds": 0,
    }


def test_one_job_in_a_terminal_is_a_table_without_a_total() -> None:
    out = io.StringIO()
    render_plan([_row("calls")], Console(file=out, force_terminal=True, width=300), as_json=False)
    assert "calls" in out.getvalue() and "total" not in out.getvalue()


def test_several_jobs_in_a_terminal_end_with_their_total() -> None:
    out = io.StringIO()
    render_plan(
        [_row("calls"), _row("meetings")], Console(file=out, force_terminal=True, width=300), as_json=False
    )
    assert "meetings" in out.getvalue() and "total" in out.getvalue()


def test_a_batch_job_has_no_sessions_or_wall_time_of_ours_and_the_total_adds_only_the_others(
    tmp_path: Path,
) -> None:
    planned = Plan()
    planned.items.append(WorkItem(_file(tmp_path), AudioInfo("pcm_s16le", 16000, 1, 3600.0)))
    settings = RunSettings(inputs=(tmp_path,), out=tmp_path / "out", endpoint=Endpoint(kind="emulator"))
    batch = plan_row(replace(settings, engine="batch", job_name="backlog"), planned)
    realtime = plan_row(replace(settings, job_name="calls"), planned)
    assert (batch["sessions"], batch["wall_estimate"], batch["wall_estimate_seconds"]) == (
        0,
        "at the service",
        0,
    )
    assert realtime["wall_estimate"] == "0:03:45"  # an hour over 8 sessions at twice real time
    out = io.StringIO()
    render_plan([batch, realtime], Console(file=out, width=300), as_json=False)
    header, backlog = out.getvalue().splitlines()[:2]
    at = header.index("sessions")
    assert backlog[at : at + len("sessions")].strip() == "-"
    assert "at the service" in out.getvalue()
    assert total_row([batch, realtime])["wall_estimate"] == "0:03:45"
    assert total_row([batch])["wall_estimate"] == "at the service"


def _file(folder: Path) -> AudioFile:
    return AudioFile(path=folder / "a.wav", source="a.wav", size=0, mtime_ns=0)
