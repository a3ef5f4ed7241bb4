"""Run reports: summary.json contract, summary.md, report.html, console tables, finding runs."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from batchscribe.audio import AudioInfo
from batchscribe.errors import UsageError
from batchscribe.outputs.atomic import is_temp_name
from batchscribe.report import (
    latest_run_dir,
    load_summary,
    render_console_summary,
    render_html,
    render_markdown,
    run_dir_for,
    summary_document,
    write_report,
)
from batchscribe.report.html_parts import name_html
from batchscribe.report.summary import SCHEMA_VERSION
from batchscribe.report.timeline import OUTCOME_COLOURS, nice_step, timeline_svg
from batchscribe.results import Attempt, Failure, FileResult, RunCounts, RunResult

START = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
RUN_ID = "20261121T020000Z-3f2a"
EVIL = "<script>alert(1)</script>.wav"
MARKUP = "[bold]x[/].wav"
SECRET = "0123456789abcdef0123456789abcdef"


def audio(seconds: float) -> AudioInfo:
    return AudioInfo(codec="mp3", sample_rate=44100, channels=1, duration_s=seconds)


def succeeded(
    source: str, *, elapsed: float = 10.0, worker: int = 0, at: float = 0.0, **changes: Any
) -> FileResult:
    values: dict[str, Any] = {
        "source": source,
        "path": Path("/rec") / source,
        "status": "succeeded",
        "audio": audio(60.0),
        "attempts": 1,
        "elapsed_s": elapsed,
        "timeline": (Attempt(worker, at, at + elapsed, "succeeded"),),
        "average_confidence": 0.9,
    }
    values.update(changes)
    return FileResult(**values)


def throttled_failure() -> FileResult:
    return FileResult(
        source=EVIL,
        path=Path("/rec") / EVIL,
        status="failed",
        audio=audio(100.0),
        attempts=3,
        failure=Failure(
            code="throttled",
            error_class="transient",
            message="the service kept throttling <this> file",
            hint="run again later, or lower --workers",
            sdk_code="TooManyRequests",
            detail=f"429 from service; Ocp-Apim-Subscription-Key: {SECRET}",
        ),
        elapsed_s=50.0,
        timeline=(
            Attempt(1, 0.0, 10.0, "retried", "throttled"),
            Attempt(1, 12.0, 20.0, "retried", "throttled"),
            Attempt(1, 25.0, 50.0, "failed", "throttled"),
        ),
    )


def make_run(**changes: Any) -> RunResult:
    files = (
        succeeded("calls/a.mp3", elapsed=30.0),
        throttled_failure(),
        succeeded(
            MARKUP,
            elapsed=20.0,
            at=31.0,
            attempts=2,
            warnings=("no speech recognized",),
            average_confidence=0.3,
        ),
        FileResult(
            source="calls/b|*draft*.wav",
            path=Path("/rec/b.wav"),
            status="cancelled",
            audio=audio(50.0),
            attempts=1,
            elapsed_s=5.0,
            timeline=(Attempt(2, 50.0, 55.0, "cancelled"),),
        ),
    )
    values: dict[str, Any] = {
        "run_id": RUN_ID,
        "started_at": START,
        "ended_at": START + timedelta(seconds=60),
        "settings": {"language": "en-US", "workers": 3, "speech_key": SECRET},
        "files": files,
        "counts": RunCounts(discovered=10, skipped_done=6),
    }
    values.update(changes)
    return RunResult(**values)


def test_summary_json_keys_are_pinned_so_a_change_is_deliberate() -> None:
    summary = summary_document(make_run())
    assert sorted(summary) == [
        "aborted", "at_service", "audio_seconds", "cancelled", "cost", "counts", "ended_at", "exit_code", "failures",
        "interrupted", "not_sent", "quality", "retries", "run_id", "schema_version", "service", "settings", "slowest",
        "started_at", "still_failing", "stop_reason", "throughput", "transcripts", "version", "wall_seconds",
        "warnings",
    ]  # fmt: skip
    assert sorted(summary["cost"]) == ["audio_hours", "currency", "estimated", "price_per_hour"]
    assert sorted(summary["quality"]) == ["by_severity", "checked", "flagged", "recordings", "thresholds"]
    required_counts = {
        "discovered", "skipped_done", "not_settled", "succeeded", "failed", "retried", "cancelled", "not_scheduled",
    }  # fmt: skip
    run_counts = {f.name for f in dataclasses.fields(RunCounts)}
    assert required_counts <= set(summary["counts"])
    assert set(summary["counts"]) == run_counts | {"succeeded", "failed", "retried", "cancelled"}
    assert sorted(summary["failures"][0]) == [
        "attempts", "class", "code", "detail", "hint", "message", "sdk_code", "source",
    ]  # fmt: skip
    assert sorted(summary["warnings"][0]) == ["source", "warning"]
    assert sorted(summary["slowest"][0]) == ["attempts", "audio_seconds", "elapsed_s", "source", "status"]
    assert summary["schema_version"] == 2  # 2: cost null when emulated, with a currency; quality


def test_summary_of_a_run_with_failures_cancelled_and_warnings() -> None:
    summary = summary_document(make_run())
    counts = summary["counts"]
    assert (counts["discovered"], counts["skipped_done"]) == (10, 6)
    assert (counts["succeeded"], counts["failed"], counts["retried"], counts["cancelled"]) == (2, 1, 2, 1)
    assert summary["exit_code"] == 1
    assert (summary["started_at"], summary["ended_at"]) == ("2026-11-21T02:00:00Z", "2026-11-21T02:01:00Z")
    assert (summary["audio_seconds"], summary["wall_seconds"], summary["throughput"]) == (120.0, 60.0, 2.0)
    assert summary["failures"] == [
        {
            "source": EVIL,
            "code": "throttled",
            "class": "transient",
            "sdk_code": "TooManyRequests",
            "message": "the service kept throttling <this> file",
            "detail": "429 from service; Ocp-Apim-Subscription-Key: ***",
            "attempts": 3,
            "hint": "run again later, or lower --workers",
        }
    ]
    assert summary["cancelled"] == ["calls/b|*draft*.wav"]
    assert summary["warnings"] == [
        {"source": MARKUP, "warning": "no speech recognized"},
        {"source": MARKUP, "warning": "low average confidence (0.30)"},
    ]
    assert [row["source"] for row in summary["slowest"]] == [
        EVIL,
        "calls/a.mp3",
        MARKUP,
        "calls/b|*draft*.wav",
    ]
    assert summary["settings"] == {"language": "en-US", "workers": 3}


def test_a_failed_file_without_a_recorded_cause_still_gets_a_row() -> None:
    lost = FileResult(source="x.wav", path=Path("x.wav"), status="failed", attempts=1)
    row = summary_document(make_run(files=(lost,)))["failures"][0]
    assert (row["code"], row["class"], row["attempts"]) == ("unknown", "unknown", 1)
    assert row["hint"]


def test_slowest_lists_the_ten_longest() -> None:
    files = tuple(succeeded(f"f{n:02d}.wav", elapsed=float(n)) for n in range(1, 16))
    slowest = summary_document(make_run(files=files))["slowest"]
    assert [row["source"] for row in slowest] == [f"f{n:02d}.wav" for n in range(15, 5, -1)]


def test_write_report_writes_three_files_atomically_summary_json_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_report(make_run(), tmp_path)
    assert folder == tmp_path / "_runs" / RUN_ID
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "summary.json", "summary.md"]
    text = (folder / "summary.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert list(document) == sorted(document)
    assert load_summary(folder) == document == json.loads(json.dumps(summary_document(make_run())))
    order: list[str] = []
    monkeypatch.setattr("batchscribe.report.writer.write_atomic", lambda path, data: order.append(path.name))
    write_report(make_run(), tmp_path / "again")
    assert order[-1] == "summary.json"


def test_no_secret_reaches_any_report_file(tmp_path: Path) -> None:
    folder = write_report(make_run(), tmp_path)
    for path in folder.iterdir():
        assert SECRET not in path.read_text(encoding="utf-8"), path.name
    assert not any(is_temp_name(p.name) for p in folder.iterdir())


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def test_html_escapes_every_name_and_runs_no_script() -> None:
    run = make_run()
    page = render_html(run, summary_document(run))
    parsed = parse_html(page)
    assert "script" not in {tag for tag, _ in parsed.tags}
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;.wav" in page
    assert EVIL in "".join(parsed.text)  # shown as text, exactly
    assert "&lt;this&gt;" in page


def test_html_is_self_contained() -> None:
    run = make_run()
    parsed = parse_html(render_html(run, summary_document(run)))
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not any(name in attrs for _, attrs in parsed.tags for name in ("src", "href"))
    assert "style" in tags and "svg" in tags
    policies = [
        a["content"]
        for t, a in parsed.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policies and "default-src 'none'" in (policies[0] or "")


def test_html_shows_the_night_at_a_glance_then_each_failure_once_under_its_cause() -> None:
    run = make_run(settings={"price_per_hour": 1.5, "currency": "EUR", "endpoint": "region:westeurope"})
    page = render_html(run, summary_document(run))
    glance = page[page.index('id="glance"') : page.index("</div></div>", page.index('id="glance"'))]
    for expected in ("2 transcribed", "1 failed", "1 cancelled", "2 min 00 s", "0.05 EUR", "1 min 00 s"):
        assert expected in glance, expected
    failures = page.index('<table id="failures">')
    assert failures < page.index('id="warnings"') < page.index("<svg") < page.index('id="slowest"')
    table = page[failures : page.index("</table>", failures)]
    cause = table.index('class="cause"')
    assert "throttled" in table[cause:] and "lower --workers" in table[cause:]
    row = table[table.index("<tr>", cause + 1) :]
    for expected in ("&lt;script&gt;", "&lt;this&gt;", "TooManyRequests", "3 attempts"):
        assert expected in row
    assert page.count("the service kept throttling") == 1  # shown once: no per-file copy elsewhere
    assert "low average confidence (0.30)" in page and "no speech recognized" in page


def test_emulated_runs_show_no_cost_anywhere() -> None:
    run = make_run(settings={"price_per_hour": 1.0, "endpoint": "emulator"})
    summary = summary_document(run)
    assert summary["cost"] is None
    page = render_html(run, summary)
    assert "Estimated cost" not in page and "nothing billed" in page
    assert "Estimated cost" not in render_markdown(summary)
    assert "cost" not in console_text(run) and "cost" not in console_text(run, terminal=True)
    paid = make_run(settings={"price_per_hour": 1.0, "endpoint": "region:westeurope"})
    assert "Estimated cost: 0.03 USD" in render_markdown(summary_document(paid))
    assert "estimated cost: 0.03 USD" in console_text(paid)


def test_identical_warnings_are_grouped_once_with_their_files() -> None:
    placeholder = "placeholder text: the emulator has no script for this recording"
    files = tuple(succeeded(f"night/call_{n:02d}.wav", warnings=(placeholder,)) for n in range(20))
    run = make_run(files=files)
    summary = summary_document(run)
    page = render_html(run, summary)
    assert page.count(placeholder) == 1 and "20 files" in page
    markdown = render_markdown(summary)
    assert markdown.count(placeholder) == 1 and f"### {placeholder} (20)" in markdown
    plain = console_text(run)
    assert plain.count(placeholder) == 1 and f"{placeholder} (20 files)" in plain


def test_file_names_wrap_at_separators_never_inside_a_word() -> None:
    parts = '<span class="part">calls/</span><wbr><span class="part">2026-11-21_</span><wbr>'
    assert name_html(
        "calls/2026-11-21_night/empty.wav"
    ) == parts + '<span class="part">night/</span><wbr>' + ('<span class="part">empty.wav</span>')
    assert name_html("<b>/x") == '<span class="part">&lt;b&gt;/</span><wbr><span class="part">x</span>'
    assert (
        name_html("a//b")
        == '<span class="part">a/</span><wbr><span class="part">/</span><wbr><span class="part">b</span>'
    )
    assert name_html("") == "" and name_html("x/") == '<span class="part">x/</span>'
    assert ".part { white-space: nowrap; }" in render_html(make_run(), summary_document(make_run()))


def test_timeline_marks_each_attempt_by_outcome_with_a_legend() -> None:
    run = make_run()
    svg = timeline_svg(run.files, wall_seconds=run.wall_seconds)
    root = ElementTree.fromstring(svg)  # well-formed XML, not just tag soup
    namespace = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{namespace}rect") if r.get("class")]
    assert [r.get("class") for r in bars].count("retried") == 2
    assert {r.get("class") for r in bars} == {"succeeded", "retried", "failed", "cancelled"}
    assert len({r.get("fill") for r in bars}) == 4
    legend = "".join(t.text or "" for t in root.iter(f"{namespace}text"))
    assert all(outcome in legend for outcome in OUTCOME_COLOURS)
    titles = [t.text for t in root.iter(f"{namespace}title")]
    assert f"{EVIL}: failed (throttled), 25.0-50.0 s (25.0 s)" in titles
    assert {r.get("y") for r in bars if r.get("class") == "cancelled"} != {r.get("y") for r in bars[:1]}


def test_timeline_labels_chunks_on_their_bars_and_in_their_titles() -> None:
    chunked = succeeded(
        "long/meeting.wav",
        timeline=(
            Attempt(0, 0.0, 30.0, "succeeded", chunk="chunk 1"),
            Attempt(1, 0.0, 0.5, "retried", "connection_failed", chunk="chunk 2"),
            Attempt(1, 0.5, 32.0, "succeeded", chunk="chunk 2"),
            Attempt(2, 0.0, 30.0, "succeeded", chunk="ch1 chunk 12"),
        ),
    )
    root = ElementTree.fromstring(timeline_svg((chunked,), wall_seconds=32.0))
    namespace = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in root.iter(f"{namespace}text") if t.get("class") == "bar-label"]
    assert labels == ["chunk 1", "ch1 chunk 12", "chunk 2"]  # the 0.5 s attempt is too narrow for one
    titles = [t.text or "" for t in root.iter(f"{namespace}title")]
    assert "long/meeting.wav, chunk 2: retried (connection_failed), 0.0-0.5 s (500 ms)" in titles
    whole = ElementTree.fromstring(timeline_svg((succeeded("calls/a.mp3", elapsed=30.0),), wall_seconds=30.0))
    assert [t.text for t in whole.iter(f"{namespace}text") if t.get("class") == "bar-label"] == ["a.mp3"]


def test_timeline_is_empty_without_attempts() -> None:
    assert timeline_svg(()) == ""
    run = make_run(files=())
    assert "No attempts were recorded" in render_html(run, summary_document(run))


@pytest.mark.parametrize(("span", "step"), [(0, 1.0), (7, 1.0), (60, 10.0), (130, 20.0), (0.3, 0.05)])
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_markdown_lists_failures_then_warnings_then_slowest_and_escapes_names() -> None:
    page = render_markdown(summary_document(make_run()))
    assert (
        page.index("## Failures")
        < page.index("## Cancelled")
        < page.index("## Warnings")
        < page.index("## Slowest")
    )
    assert "run again later, or lower --workers" in page
    assert "| `calls/b\\|*draft*.wav` |" in page  # a pipe would otherwise split the table cell
    assert "- `calls/b|*draft*.wav`" in page  # outside a table the backslash would show
    assert "`<script>alert(1)</script>.wav`" in page  # inside a code span it is text
    assert "\\<this\\>" in page
    for line in page.splitlines():
        if line.startswith("| `<script>") and "throttled" in line:
            assert (
                line.count(" | ") == 6
            )  # seven cells: File, Class, Code, SDK code, Detail, Attempts, What to do


def test_markdown_for_a_clean_run_says_so() -> None:
    page = render_markdown(summary_document(make_run(files=(succeeded("a.wav"),))))
    assert "**1 file transcribed.**" in page
    assert "## Failures\n\nNone." in page


def console_text(result: Any, *, terminal: bool = False) -> str:
    console = Console(record=True, width=140, color_system=None, force_terminal=terminal)
    render_console_summary(result, console)
    return console.export_text()


def test_console_summary_shows_totals_then_failures_then_cancelled() -> None:
    on_terminal = console_text(make_run(), terminal=True)
    assert (
        on_terminal.index("Totals") < on_terminal.index("Failures (1)") < on_terminal.index("Cancelled (1)")
    )
    text = console_text(make_run())  # no terminal: plain lines
    assert text.index("discovered: 10") < text.index("failures (1):") < text.index("cancelled (1):")
    assert EVIL in text and "throttled" in text and "lower --workers" in text
    assert "calls/b|*draft*.wav" in text
    assert "1 file with warnings" in text


def test_console_prints_names_literally_not_as_markup() -> None:
    failure = dataclasses.replace(throttled_failure(), source=MARKUP)
    assert MARKUP in console_text(make_run(files=(failure,)))


def test_console_renders_the_same_from_a_loaded_summary(tmp_path: Path) -> None:
    run = make_run()
    folder = write_report(run, tmp_path)
    assert console_text(load_summary(folder)) == console_text(run)


def test_console_cuts_long_failure_lists() -> None:
    many = tuple(dataclasses.replace(throttled_failure(), source=f"f{n:03d}.wav") for n in range(45))
    text = console_text(make_run(files=many))
    assert "f019.wav" in text and "f020.wav" not in text
    assert "and 25 more: see summary.md" in text


@pytest.mark.parametrize(
    ("changes", "exit_code", "headline"),
    [
        ({"interrupted": True}, 130, "Interrupted"),
        ({"aborted": "the key was rejected"}, 3, "Aborted: the key was rejected"),
        ({"files": ()}, 0, "Nothing to do"),
        ({"files": (succeeded("a.wav"),)}, 0, "1 file transcribed."),
        ({"files": (succeeded("a.wav"), succeeded("b.wav"))}, 0, "All 2 files transcribed."),
    ],
)
def test_headline_and_exit_code_follow_the_run(
    changes: dict[str, Any], exit_code: int, headline: str
) -> None:
    summary = summary_document(make_run(**changes))
    assert summary["exit_code"] == exit_code
    assert headline in render_markdown(summary)
    assert headline in console_text(summary)


def test_latest_run_dir_picks_the_latest_complete_run(tmp_path: Path) -> None:
    assert latest_run_dir(tmp_path) is None
    write_report(make_run(run_id="20261120T020000Z-aaaa"), tmp_path)
    latest = write_report(make_run(run_id="20261121T020000Z-bbbb"), tmp_path)
    (tmp_path / "_runs" / "20261122T020000Z-cccc").mkdir()  # still running: no summary yet
    assert latest_run_dir(tmp_path) == latest


def test_load_summary_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no run summary"):
        load_summary(tmp_path)
    (tmp_path / "summary.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read"):
        load_summary(tmp_path)
    (tmp_path / "summary.json").write_text(f'{{"schema_version": {SCHEMA_VERSION + 1}}}', encoding="utf-8")
    with pytest.raises(UsageError, match="newer batchscribe"):
        load_summary(tmp_path)
    (tmp_path / "summary.json").write_text("[]", encoding="utf-8")
    with pytest.raises(UsageError, match="not a batchscribe run summary"):
        load_summary(tmp_path)


@pytest.mark.parametrize("run_id", ["", "..", "a/b", "a\\b"])
def test_run_id_must_be_a_plain_folder_name(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ValueError, match="plain folder name"):
        run_dir_for(tmp_path, run_id)
