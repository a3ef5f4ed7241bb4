"""``batchscribe plan``'s costs carry their currency: in the table, the summaries' line and
``--json``; a total over jobs priced in different currencies is not added up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from batchscribe.audio import AudioInfo
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import Plan, WorkItem
from batchscribe.planning.summaries import SummaryPlan
from batchscribe.report.plan_table import plan_row, render_plan, total_row

SETTINGS = RunSettings(inputs=(Path("calls"),), out=Path("out"), endpoint=Endpoint(kind="unresolved"))


def an_hour() -> Plan:
    item = WorkItem(AudioFile(path=Path("/r/a.wav"), source="a.wav", size=1, mtime_ns=1),
                    AudioInfo(codec="pcm", sample_rate=16000, channels=1, duration_s=3600.0))  # fmt: skip
    return Plan(items=[item], summaries=SummaryPlan(due=1, estimated_tokens=1000, estimated_cost=0.5))


def plain(rows: list[dict[str, object]]) -> str:
    console = Console(record=True, width=300, force_terminal=False)
    render_plan(rows, console, as_json=False)
    return console.export_text()


def test_the_plan_says_the_currency_of_its_costs() -> None:
    row = plan_row(replace(SETTINGS, currency="EUR", price_per_hour=2.0), an_hour())

    text = plain([row])

    assert row["currency"] == "EUR" and row["estimated_cost"] == 2.0
    assert "2.00 EUR" in text.splitlines()[1]
    assert text.splitlines()[2].endswith("estimated cost 0.50 EUR")


def test_a_total_over_two_currencies_is_not_added_up() -> None:
    eur = plan_row(replace(SETTINGS, currency="EUR", price_per_hour=2.0, job_name="eu"), an_hour())
    usd = plan_row(replace(SETTINGS, currency="USD", price_per_hour=1.0, job_name="us"), an_hour())

    assert total_row([eur, eur])["estimated_cost"] == 4.0 and total_row([eur, eur])["currency"] == "EUR"
    assert total_row([eur, usd])["estimated_cost"] is None
    total_line = next(line for line in plain([eur, usd]).splitlines() if line.startswith("total"))
    assert " - " in total_line and "3.00" not in total_line
