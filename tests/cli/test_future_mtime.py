"""A recording whose modification time is in the future (a copy keeping a wrong clock's time,
``touch -d '+1 year'``) is named, and transcribed once unchanged for the settle time (issue 17,
item 13); it was skipped as "still being written" every night, then silently."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.cli.cli_process import batchscribe, recording, transcripts

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
