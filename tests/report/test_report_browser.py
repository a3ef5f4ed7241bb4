"""The morning report in a real browser: headless Chromium renders report.html from the file alone.

Chromium is Debian's package (`.ci/run` installs it). Without it the test is skipped on a
developer's machine and fails in CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator import ScriptPhrase
from batchscribe.report import latest_run_dir
from tests.conftest import Recordings

pytestmark = pytest.mark.integration

EVIL_NAME = "<script>boom.mp3"  # a file name that is markup (a "/" cannot be in one)
EVIL_TEXT = "so <script>alert(1)</script> was said"


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("chromium is not installed: .ci/run installs it before pytest")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def headless(chromium: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # the page must need no network: give it none
        *args, url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


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

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows[self._table].append(" ".join("".join(self._row).split()))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data + " ")


def test_report_renders_in_headless_chromium_with_the_failure_table_and_markup_kept_as_text(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    chromium = chromium_binary()
    recordings.add("good.wav", seed=1)
    recordings.add("rejected.wav", seed=2, faults=["close:1007:reason=Unsupported audio format"])
    recordings.add("mumble.wav", seed=3, text=[ScriptPhrase(EVIL_TEXT, confidence=0.3)])
    recordings.add("flaky.wav", seed=4, faults=["close:1011:sessions=1"])  # its first session fails
    (recordings.root / EVIL_NAME).write_text("<script>alert(2)</script> is not audio\n" * 20)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    run = cli.invoke(
        app, ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, "--sdk-send-rate", "50"]
    )
    assert run.exit_code == 1, run.output
    folder = latest_run_dir(out)
    assert folder is not None
    url = (folder / "report.html").resolve().as_uri()

    dom_text = headless(chromium, tmp_path / "profile-dom", url, "--dump-dom").stdout
    screenshot = tmp_path / "report.png"
    headless(chromium, tmp_path / "profile-png", url, f"--screenshot={screenshot}", "--window-size=1280,2000")

    dom = _Dom()
    dom.feed(dom_text)
    dom.close()
    assert "script" not in dom.elements  # neither name nor transcript became an element
    assert "<script" not in dom_text.lower()
    failures = dom.rows["failures"]
    assert failures[0] == "File Class Code Detail Attempts What to do"
    assert any(row.startswith(f"{EVIL_NAME} permanent not_media") for row in failures[1:]), failures
    assert any(row.startswith("rejected.wav permanent bad_request") for row in failures[1:]), failures
    assert any(
        row.startswith("mumble.wav low average confidence") and EVIL_TEXT in row
        for row in dom.rows["warnings"]
    )
    assert "svg" in dom.elements and "rect" in dom.elements  # the worker timeline drew
    service = dom.rows["service"]
    assert f"Service Speech container or host {emulator.url}" in service
    assert any(row.startswith("Estimated cost ") for row in service), service
    retries = dom.rows["retries"]
    assert any(row.startswith("flaky.wav 1 retried transient") for row in retries), retries
    assert any(row.startswith("2 succeeded") for row in retries), retries
    assert any(row.startswith(f"{EVIL_NAME} not_media") for row in dom.rows["not-sent"]), dom.rows["not-sent"]
    assert any(row.startswith("good.wav txt json") for row in dom.rows["transcripts"]), dom.rows["transcripts"]
    assert 'href="../../good.wav.txt"' in dom_text
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 20_000  # a drawn page, not a blank one
