"""The morning report in a real browser: headless Chromium renders report.html from the file alone,
at 1280 and 400 px, driven over the DevTools protocol (``cdp``): no sideways overflow, no script
error, no network request; the screenshots are kept in the test's tmp folder to look at.

Chromium is Debian's package (`.ci/run` installs it). Without it the test is skipped on a
developer's machine and fails in CI, where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator import ScriptPhrase
from batchscribe.report import latest_run_dir
from tests.conftest import Recordings, spans_samples
from tests.report.cdp import render

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

EVIL_NAME = "<script>boom.mp3"  # a file name that is markup (a "/" cannot be in one)
EVIL_TEXT = "so <script>alert(1)</script> was said"


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("chromium is not installed: .ci/run installs it before pytest")
    pytest.skip("chromium is not installed (apt-get install chromium)")


class _Dom(HTMLParser):
    """Elements and, per table id, the text of each row."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._table = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(tag)
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.rows[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th", "br") and self._row is not None:
            self._row.append(" ")  # cells apart; a <wbr> inside a name is no space

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows[self._table].append(" ".join("".join(self._row).split()))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data)


def run_night(cli: CliRunner, recordings: Recordings, out: Path, emulator_url: str, *extra: str) -> Path:
    run = cli.invoke(
        app,
        ["run", str(recordings.root), "--out", str(out), "--host", emulator_url, "--sdk-send-rate", "50",
         "--languages", "en-US,fr-FR", "--currency", "EUR", *extra],
    )  # fmt: skip
    assert run.exit_code in (0, 1), run.output
    folder = latest_run_dir(out)
    assert folder is not None
    return folder / "report.html"


def test_report_renders_in_headless_chromium_at_1280_400_px_and_printed_without_overflow_script_or_network(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    chromium = chromium_binary()
    long_folder = "customer_callbacks_for_the_northern_region/2026-11-21_night_shift"
    recordings.add("good.wav", seed=1)
    recordings.add("rejected.wav", seed=2, faults=["close:1007:reason=Unsupported audio format"])
    recordings.add("mumble.wav", seed=3, text=[ScriptPhrase(EVIL_TEXT, confidence=0.3)])
    recordings.add("flaky.wav", seed=4, faults=["close:1011:sessions=1"])  # its first session fails
    recordings.add(
        "deutsch.wav", seed=5, text=[ScriptPhrase("Guten Tag, wie kann ich helfen", language="de-DE")]
    )
    recordings.add(  # speech for the first seconds, then 80 s without a word
        "hung_up.wav", seed=6, samples=spans_samples(6, [("speech", 3.0), ("sil", 80.0)]),
        text=[ScriptPhrase("hello is anyone there", start=0.2, end=2.8)],
    )  # fmt: skip
    for n in range(3):
        recordings.add(f"{long_folder}/customer_callback_recording_number_{n:04d}.wav", seed=10 + n)
    for name in ("cut_a.mp3", "cut_b.mp3"):  # two files with the same two warnings: grouped
        shutil.copy(FIXTURES / "bad" / "truncated.mp3", recordings.root / name)
    (recordings.root / EVIL_NAME).write_text("<script>alert(2)</script> is not audio\n" * 20)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    first = run_night(cli, recordings, out, emulator.url)
    recordings.add("next_night.wav", seed=20)
    emulator.stop()
    emulator = emulator_for(recordings)
    page = run_night(cli, recordings, out, emulator.url)  # a second night: the history has two runs
    assert page != first
    url = page.resolve().as_uri()

    pdf = tmp_path / "report.pdf"
    for width, media in ((1280, "screen"), (400, "screen"), (720, "print")):  # 720 px: an A4 page
        shot = tmp_path / f"report-{width}.png"
        printed = pdf if media == "print" else None
        seen = render(chromium, tmp_path / f"profile-{width}", url, width, shot, media=media, pdf=printed)
        assert seen["scrollWidth"] <= seen["clientWidth"] == width, seen  # no sideways scrolling
        assert seen["stickingOut"] == [], seen  # nothing wider than the window outside a scroll box
        assert seen["exceptions"] == [] and seen["console_errors"] == [], seen
        assert seen["requests"] == [url], seen  # the page alone: no font, image or script fetched
        png = shot.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", png[16:20])[0] == width
        assert len(png) > 20_000  # a drawn page, not a blank one
    assert pdf.read_bytes()[:5] == b"%PDF-"

    dom_text = first.read_text(encoding="utf-8")
    dom = _Dom()
    dom.feed(dom_text)
    dom.close()
    assert "script" not in dom.elements  # neither name nor transcript became an element
    assert "<script" not in dom_text.lower()
    failures = dom.rows["failures"]
    assert failures[0] == "File What happened Tries"
    assert any(row.startswith("not_media · permanent · 1 file What to do:") for row in failures), failures
    assert any(row.startswith(f"{EVIL_NAME} ") and row.endswith("not sent") for row in failures), failures
    assert sum(EVIL_NAME in row for rows in dom.rows.values() for row in rows) == 1  # each failure once
    flagged = dom.rows["flagged"]
    assert flagged[0] == "Severity Recording What looks off"
    assert any(row.startswith("high deutsch.wav identified de-DE for 100% of the speech") for row in flagged)
    assert any(row.startswith(f"medium mumble.wav low mean confidence 0.30 {EVIL_TEXT}") for row in flagged)
    assert any(row.startswith("medium hung_up.wav transcript ends at") for row in flagged), flagged
    assert 'href="../../deutsch.wav.txt"' in dom_text
    warned = dom.rows["warnings"]
    assert [row for row in warned if "·" in row] == [
        "decoding stopped early at 3.0 s of the 6.0 s the file's header announces: the file looks truncated · 2 files",
        "placeholder text: the emulator has no script for this recording (record one with 'batchscribe emulator"
        " script add') · 2 files",
    ], warned  # identical warnings once each; mumble's low confidence is under Flagged, not here too
    assert "svg" in dom.elements and "rect" in dom.elements  # the worker timeline drew
    assert '<div class="glance" id="glance"><div><b>10 transcribed</b><span>2 failed, 3 flagged' in dom_text
    assert " EUR</b>" in dom_text  # a host is paid for: the cost, with its currency
    retries = dom.rows["retries"]
    assert any(row.startswith("flaky.wav 1 retried transient") for row in retries), retries
    assert any(row.startswith("good.wav txt json") for row in dom.rows["transcripts"]), dom.rows[
        "transcripts"
    ]
    assert 'href="../../good.wav.txt"' in dom_text
    second = page.read_text(encoding="utf-8")
    assert "<h2>History (2 runs)</h2>" in second and second.count('class="chart"') >= 5
    assert '<span class="part">region/</span><wbr><span class="part">2026-11-21_</span><wbr>' in dom_text


def test_an_emulated_night_shows_no_cost(cli: CliRunner, recordings: Recordings, tmp_path: Path) -> None:
    recordings.add("a.wav", seed=1)
    run = cli.invoke(app, ["run", str(recordings.root), "--out", str(tmp_path / "out"), "--emulate",
                           "--emulator-transcripts", str(recordings.save(tmp_path / "t.yaml"))])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "cost" not in run.output.lower()
    folder = latest_run_dir(tmp_path / "out")
    assert folder is not None
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "nothing billed" in page and "Estimated cost" not in page and " USD" not in page
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8"))["cost"] is None
