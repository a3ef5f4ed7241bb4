"""The plan's table in a terminal: one job, or several with their total."""

from __future__ import annotations

import io

from rich.console import Console

from batchscribe.report.plan_table import COLUMNS, render_plan


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
