"""Whether a recording's summary is due (the one decision), and the files that record it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchscribe.summaries.document import Stamp, SummaryPaths, build, decide, read_summary, write

PROMPT, DEPLOYMENT, TEXT = "p" * 64, "gpt-4o-mini", "t" * 64
STAMP = Stamp(size=100, mtime_ns=5)


def existing(status: str = "done", **transcript: object) -> dict[str, object]:
    return {"status": status, "prompt_sha256": PROMPT, "deployment": DEPLOYMENT,
            "transcript": {"sha256": TEXT, "size": 100, "mtime_ns": 5, **transcript}}  # fmt: skip


def not_read() -> str:
    raise AssertionError("the transcript was read although its file did not change")


@pytest.mark.parametrize(
    ("summary", "stamp", "text", "due", "why"),
    [
        (None, STAMP, not_read, True, "new"),
        (existing(), STAMP, not_read, False, "done"),
        (existing("refused"), STAMP, not_read, False, "refused before"),
        (existing("empty"), STAMP, not_read, False, "no speech"),
        ({**existing(), "prompt_sha256": "other"}, STAMP, not_read, True, "prompt changed"),
        ({**existing("refused"), "prompt_sha256": "other"}, STAMP, not_read, True, "prompt changed"),
        ({**existing(), "deployment": "gpt-4o"}, STAMP, not_read, True, "deployment changed"),
        (existing(), Stamp(100, 6), lambda: TEXT, False, "done"),  # rewritten with the same text
        (existing(), Stamp(101, 6), lambda: "changed", True, "transcript changed"),
        (existing("refused"), Stamp(101, 6), lambda: "changed", True, "transcript changed"),
    ],
)
def test_a_summary_is_due_only_when_transcript_prompt_or_deployment_changed(
    summary: dict[str, object] | None, stamp: Stamp, text: object, due: bool, why: str
) -> None:
    decision = decide(summary, stamp, prompt_sha256=PROMPT, deployment=DEPLOYMENT, text_sha256=text)  # type: ignore[arg-type]
    assert (decision.due, decision.why) == (due, why)


def test_the_summary_files_sit_beside_the_transcript(tmp_path: Path) -> None:
    paths = SummaryPaths.of(tmp_path, "calls/a.mp3")
    assert paths.transcript == tmp_path / "calls/a.mp3.json"
    assert paths.json == tmp_path / "calls/a.mp3.summary.json"
    assert paths.markdown == tmp_path / "calls/a.mp3.summary.md"


def test_written_documents_read_back_and_anything_else_reads_as_none(tmp_path: Path) -> None:
    paths = SummaryPaths.of(tmp_path, "a.mp3")
    doc = build(source="a.mp3", status="done", answer={"summary": "A call.", "action_items": ["Call back"],
                "topics": ["billing"]}, text_sha256=TEXT, stamp=STAMP, deployment=DEPLOYMENT, model="m",
                prompt_sha256=PROMPT, tokens={"total": 3}, cost=0.1, price_per_1k_tokens=1.0, parts=1,
                elapsed_s=0.5, run_id="r")  # fmt: skip
    write(paths, doc)
    assert read_summary(paths.json) == json.loads(json.dumps(doc))
    assert "- [ ] Call back" in paths.markdown.read_text()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    for broken in ("", "{", "[]", '{"schema_version": 99}'):
        paths.json.write_text(broken)
        assert read_summary(paths.json) is None
    assert read_summary(tmp_path / "missing.summary.json") is None
