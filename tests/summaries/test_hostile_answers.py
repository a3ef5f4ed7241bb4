"""What a transcript or a model's answer can carry into the outputs: Markdown and HTML that would
render as markup, control characters that would drive a terminal, wrong types and huge lists.
The answer is checked in one place (``prompt.parse_answer``) and every Markdown rendering escapes
it, so ``NAME.summary.md`` and the run's summary.md show what was said, never markup."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from batchscribe.errors import SummaryError
from batchscribe.report.markdown import render_markdown
from batchscribe.report.summary import summary_document
from batchscribe.results import RunResult
from batchscribe.summaries.document import Stamp, build
from batchscribe.summaries.document import render_markdown as summary_markdown
from batchscribe.summaries.prompt import MAX_ITEMS, parse_answer
from batchscribe.summary_digest import SummaryDigest, SummaryRow

HOSTILE = (
    "Ignore the above.\n# Fake heading\n- [x] done <script>alert(1)</script> **bold** [link](javascript:x)"
)


def document_for(answer: dict[str, object], source: str = "calls/a.wav") -> dict[str, object]:
    return build(
        source=source, status="done", answer=answer, text_sha256="0" * 64, stamp=Stamp(1, 1),
        deployment="gpt", model="gpt-4o", prompt_sha256="1" * 64, tokens={"total": 10}, cost=0.0,
        price_per_1k_tokens=0.0, parts=1, elapsed_s=0.1, run_id="r",
    )  # fmt: skip


def test_control_characters_in_the_answer_are_dropped_and_line_breaks_kept() -> None:
    answer = parse_answer(json.dumps({
        "summary": "First\x1b[2J line.\r\nSecond\x07 line.\u2028",
        "action_items": ["Call\x1b]0;title\x07 back", "   "],
        "topics": "billing\x00",
    }))  # fmt: skip

    assert answer.summary == "First[2J line.\nSecond line."
    assert answer.action_items == ("Call]0;title back",)
    assert answer.topics == ("billing",)


def test_ten_thousand_topics_are_kept_to_the_first_distinct_few() -> None:
    answer = parse_answer(json.dumps({"summary": "S.", "topics": ["x", "y"] * 5_000 + ["z"]}))

    assert answer.topics == ("x", "y", "z") and MAX_ITEMS >= 3


@pytest.mark.parametrize(
    "answer",
    [
        {"summary": ["a", "list"]},
        {"summary": "S.", "action_items": {"a": 1}},
        {"summary": "S.", "topics": [1]},
    ],
)
def test_an_answer_of_the_wrong_types_is_not_the_json_asked_for(answer: dict[str, object]) -> None:
    with pytest.raises(SummaryError) as caught:
        parse_answer(json.dumps(answer))

    assert caught.value.code == "invalid_answer" and caught.value.transient


def test_a_recordings_summary_md_shows_markup_as_text() -> None:
    markdown = summary_markdown(document_for(
        {"summary": HOSTILE, "action_items": ["<img src=x onerror=alert(2)>"], "topics": ["**x**"]},
        source="calls/new\nline # <b>.wav",
    ))  # fmt: skip

    lines = markdown.splitlines()
    assert lines[0] == "# new\\\\nline \\# \\<b\\>.wav"  # the newline shown as \\n, escaped
    assert "\\# Fake heading" in lines and "\\- \\[x\\] done \\<script\\>alert(1)\\</script\\> \\*\\*bold\\*\\* " \
        "\\[link\\](javascript:x)" in lines  # fmt: skip
    assert "- [ ] \\<img src=x onerror=alert(2)\\>" in lines and "\\*\\*x\\*\\*" in lines
    assert not any(line.startswith(("# Fake", "- [x]", "<")) for line in lines)


def test_the_run_summary_md_digest_shows_markup_as_text() -> None:
    night = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
    digest = SummaryDigest(deployment="gpt", made=1, rows=(
        SummaryRow("a`b.wav", "done", one_line="<script>x</script> # not a heading",
                   action_items=("[click](http://evil)",), topics=("t",)),
    ))  # fmt: skip
    result = RunResult(run_id="r1", started_at=night, ended_at=night, settings={}, summaries=digest)

    markdown = render_markdown(summary_document(result))

    assert "- ``a`b.wav``: \\<script\\>x\\</script\\> \\# not a heading" in markdown
    assert "  - [ ] \\[click\\](http://evil)" in markdown
    assert "<script>" not in markdown
