"""The process never aborts at exit (issue 12 point 7): no SIGABRT (exit 134) after stalls,
cancellations and retries, whatever SDK threads are still stopping sessions; the exit code is
the run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchscribe.engines.reaper import Reaper, native_work_pending
from tests.conftest import Recordings

pytestmark = pytest.mark.integration


def test_a_run_with_stalls_and_retries_exits_with_its_own_code_never_134(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    for n in range(6):  # every first session stalls: six SDK stops (~10 s each) are under way
        recordings.add(f"r{n}.wav", seed=20 + n, seconds=3.0, faults=["stall:sessions=1"])
    emulator = emulator_for(recordings)
    command = [sys.executable, "-m", "batchscribe", "run", str(recordings.root), "--out",
               str(tmp_path / "out"), "--host", emulator.url, "--stall-timeout", "1",
               "--retries", "2", "--workers", "6", "--sdk-send-rate", "50"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SPEECH_KEY": "k" * 32}, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "FATAL" not in done.stderr
    assert len(emulator.stats().stalled_sessions) == 6


def test_close_reports_recognizers_still_being_stopped() -> None:
    reaper = Reaper()
    release = __import__("threading").Event()

    class SlowStop:
        def get(self) -> None:
            release.wait(30)

    class Connection:
        connected = type("Signal", (), {"disconnect_all": lambda self: None})()

        def close(self) -> None:
            pass

    reaper.release(SlowStop, object(), Connection())
    assert reaper.close(timeout=0.1) is False
    assert native_work_pending()
    release.set()
    assert reaper.close(timeout=10) is True
