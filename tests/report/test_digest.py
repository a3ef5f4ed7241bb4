"""The morning report's digest of the night's summaries: in summary.json, summary.md, report.html
and the console, rendered from the ``SummaryDigest`` a run keeps."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from batchscribe.report import load_summary, render_console_summary, write_report
from batchscribe.results import RunResult
from batchscribe.summary_digest import SummaryDigest, SummaryRow, one_line

NIGHT = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)


def night(digest: SummaryDigest | None) -> RunResult:
    return RunResult(run_id="20261121T020000000Z-abcd", started_at=NIGHT, ended_at=NIGHT, settings={},
                     summaries=digest)  # fmt: skip


DIGEST = SummaryDigest(
    deployment="gpt-4o-mini",
    made=2,
    unchanged=5,
    refused=1,
    prompt_tokens=900,
    completion_tokens=100,
    cost=0.005,
    price_per_1k_tokens=0.005,
    rows=(
        SummaryRow(
            "calls/a.wav", "done", one_line="A refund <b>was</b> agreed.", action_items=("Refund by Friday",)
        ),
        SummaryRow("calls/b.wav", "refused", reason="refused by the deployment's content filter: policy"),
        SummaryRow("calls/c.wav", "done", one_line="A delivery date was set."),
    ),
    topics=(("refund", 2), ("delivery", 1)),
)


def test_the_digest_is_in_every_rendering_and_escaped_in_html(tmp_path: Path) -> None:
    folder = write_report(night(DIGEST), tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    digest = summary["summaries"]
    assert (digest["made"], digest["unchanged"], digest["refused"], digest["failed"]) == (2, 5, 1, 0)
    assert digest["tokens"] == {"prompt": 900, "completion": 100, "total": 1000}
    assert digest["topics"] == [{"topic": "refund", "recordings": 2}, {"topic": "delivery", "recordings": 1}]
    assert digest["recordings"][0]["action_items"] == ["Refund by Friday"]
    markdown = (folder / "summary.md").read_text()
    assert "- `calls/a.wav`: A refund \\<b\\>was\\</b\\> agreed.\n  - [ ] Refund by Friday" in markdown
    assert "Most frequent topics: refund (2), delivery (1)" in markdown
    assert "`calls/b.wav`: refused (a warning): refused by the deployment's content filter" in markdown
    html = (folder / "report.html").read_text()
    assert "A refund &lt;b&gt;was&lt;/b&gt; agreed." in html and "<li>Refund by Friday</li>" in html
    assert "<b>was</b>" not in html
    assert load_summary(folder)["summaries"] == digest  # `batchscribe report` renders it again


def test_a_run_without_summarize_has_no_digest(tmp_path: Path) -> None:
    folder = write_report(night(None), tmp_path)
    assert "summaries" not in json.loads((folder / "summary.json").read_text())
    assert "Summaries" not in (folder / "summary.md").read_text()


def test_stopped_summaries_fail_the_night_and_say_why_in_one_line() -> None:
    stopped = SummaryDigest(deployment="gpt", stopped="Azure OpenAI rejected the key in AZURE_OPENAI_API_KEY")
    assert night(stopped).exit_code == 1 and night(DIGEST).exit_code == 0  # a refusal is only a warning
    console = Console(record=True, width=200, force_terminal=False)
    render_console_summary(night(stopped), console, quiet=True)  # quiet still shows it: it failed
    assert "summaries stopped: Azure OpenAI rejected the key in AZURE_OPENAI_API_KEY" in console.export_text()


def test_the_one_line_summary_is_the_first_sentence_on_one_line() -> None:
    assert one_line("The customer asked\nfor a refund. It was agreed.") == "The customer asked for a refund."
    assert len(one_line("word " * 100)) == 200
