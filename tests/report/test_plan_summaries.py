"""``batchscribe plan``'s table in a terminal and in a pipe, with the summaries' line (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.planning.planner import Plan
from batchscribe.planning.summaries import SummaryPlan
from batchscribe.report.plan_table import plan_row, render_plan


@pytest.mark.parametrize("terminal", [True, False])
def test_one_job_renders_with_its_summaries_line(terminal: bool) -> None:
    settings = RunSettings(inputs=(Path("calls"),), out=Path("out"), endpoint=Endpoint(kind="unresolved"))
    planned = Plan(summaries=SummaryPlan(due=3, unchanged=2, estimated_tokens=4500, estimated_cost=0.0225))
    console = Console(record=True, width=300, force_terminal=terminal)
    render_plan([plan_row(settings, planned)], console, as_json=False)  # one job: no total row
    assert (
        "summaries of calls: 3 to make, 2 unchanged, ~4,500 tokens, estimated cost 0.02"
        in console.export_text()
    )


def test_without_summarize_the_row_has_no_summaries_keys() -> None:
    settings = RunSettings(inputs=(Path("calls"),), out=Path("out"), endpoint=Endpoint(kind="unresolved"))
    assert not [key for key in plan_row(settings, Plan()) if key.startswith("summar")]
