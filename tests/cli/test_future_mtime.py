"""A recording whose modification time is in the future (a copy keeping a wrong clock's time,
``touch -d '+1 year'``) is named, and transcribed once unchanged for the settle time (issue 17,
item 13); it was skipped as "still being written" every night, then silently. When the change
time is in the future too, the first sighting of the file unchanged is remembered across runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.cli_process import batchscribe, cli_env, recording, transcripts

pytestmark = pytest.mark.integration


def test_a_future_modification_time_is_named_then_transcribed(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    path = recording(root / "future.wav")
    next_year = time.time() + 365 * 86400
    os.utime(path, (next_year, next_year))

    waiting = batchscribe("run", root, "--out", out, "--emulate", "--settle", "1h")
    assert waiting.returncode == 0, waiting.stdout + waiting.stderr
    assert "future.wav: its modification time is in the future" in waiting.stderr
    assert "once it has not changed for 3600 s" in waiting.stderr and transcripts(out) == []

    taken = batchscribe("run", root, "--out", out, "--emulate")  # --settle 0: unchanged long enough
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert [p.name for p in transcripts(out)] == ["future.wav.json"]


SHIFTED_CLOCK_CLI = """
import os
from datetime import datetime, timedelta

import batchscribe.running.run as run


class Shifted(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(seconds=float(os.environ["CLOCK_SHIFT_S"]))


run.datetime = Shifted  # this machine's clock, behind the file system's by the shift
from batchscribe.cli import main

main()
"""


def run_shifted(*args: str | Path, shift_s: float) -> subprocess.CompletedProcess[str]:
    """The CLI as a process whose clock is ``shift_s`` off (the run's start: what it plans with)."""
    return subprocess.run(
        [sys.executable, "-c", SHIFTED_CLOCK_CLI, *map(str, args)],
        env=cli_env(CLOCK_SHIFT_S=str(shift_s)), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def test_times_all_in_the_future_settle_once_seen_unchanged_for_the_settle_time_across_runs(
    tmp_path: Path,
) -> None:
    """The file system's clock a day ahead: both the modification and the change time are in the
    future, nothing on the file can tell how long it has been still; the first sighting is
    remembered, and a run a settle time later takes it (it waited forever before)."""
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "ahead.wav")
    day = -86400.0  # this machine's clock a day behind the file's times

    first = run_shifted("run", root, "--out", out, "--emulate", "--settle", "1h", shift_s=day)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ahead.wav: its modification and change times are in the future" in first.stderr
    assert "once seen unchanged for 3600 s" in first.stderr and transcripts(out) == []

    early = run_shifted("run", root, "--out", out, "--emulate", "--settle", "1h", shift_s=day + 1800)
    assert early.returncode == 0 and transcripts(out) == [], early.stdout + early.stderr  # half an hour on

    later = run_shifted("run", root, "--out", out, "--emulate", "--settle", "1h", shift_s=day + 3700)
    assert later.returncode == 0, later.stdout + later.stderr
    assert [p.name for p in transcripts(out)] == ["ahead.wav.json"]
