"""The night's headline mentions the summaries, and their cost carries its currency (none for the
emulator's deployment): what a reviewer reads first must not hide that summaries failed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from batchscribe.report import write_report
from batchscribe.report.digest import digest_totals
from batchscribe.report.summary import headline, summary_document
from tests.report.test_digest import DIGEST, night

PAID = {"currency": "EUR", "summaries": {"endpoint": "https://x.openai.azure.com", "deployment": "gpt"}}
EMULATED = {"currency": "EUR", "summaries": {"endpoint": "emulator", "deployment": "emulator"}}


def test_a_night_with_only_summaries_says_what_they_did() -> None:
    failed = replace(DIGEST, made=2, failed=1, refused=0, not_scheduled=3)

    line = headline(summary_document(night(failed)))

    assert line == ("Nothing to transcribe: every file was already transcribed or not ready. "
                    "Summaries: 2 made, 1 failed, 3 left for the next run.")  # fmt: skip


def test_stopped_summaries_are_in_the_headline() -> None:
    stopped = replace(DIGEST, stopped="Azure OpenAI rejected the key in AZURE_OPENAI_API_KEY (HTTP 401)")

    assert headline(summary_document(night(stopped))).endswith(
        "Summaries stopped for this run; see why below."
    )


def test_a_night_without_summaries_keeps_its_headline() -> None:
    assert (
        headline(summary_document(night(None)))
        == "Nothing to do: every file was already transcribed or not ready."
    )
    idle = replace(DIGEST, made=0, refused=0, failed=0, rows=())
    assert (
        headline(summary_document(night(idle)))
        == "Nothing to do: every file was already transcribed or not ready."
    )


def test_the_summary_cost_has_its_currency_and_none_when_emulated(tmp_path: Path) -> None:
    paid = summary_document(replace(night(DIGEST), settings=PAID))
    emulated = summary_document(replace(night(DIGEST), settings=EMULATED))

    assert dict(digest_totals(paid))["Summary tokens"] == "1,000 (estimated cost 0.01 EUR)"
    assert dict(digest_totals(emulated))["Summary tokens"] == "1,000"
    folder = write_report(replace(night(DIGEST), settings=PAID), tmp_path)
    assert json.loads((folder / "summary.json").read_text())["summaries"]["cost"]["currency"] == "EUR"
    assert "estimated cost 0.01 EUR" in (folder / "summary.md").read_text()
