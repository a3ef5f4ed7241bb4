"""SIGHUP (a closed ssh session, a closed terminal) winds the run down like SIGTERM: the files in
flight are left for the next run, the summary and report are written, and it exits 130."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from batchscribe.emulator.synth import burst_samples, write_wav
from tests.cli.cli_process import cli_env, last_summary

pytestmark = pytest.mark.integration


def _command(tmp_path: Path, *extra: str) -> list[str]:
    root = tmp_path / "in"
    for seed in range(6):
        write_wav(root / f"r{seed}.wav", burst_samples(seed + 1, 4.0))
    return [sys.executable, "-m", "batchscribe", "run", str(root), "--out", str(tmp_path / "out"), "--emulate",
            "--emulator-speed", "2", "--workers", "2", *extra]  # fmt: skip


def test_sighup_writes_the_summary_and_exits_130(tmp_path: Path) -> None:
    process = subprocess.Popen(_command(tmp_path), env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # the first file is done: the run is under way
        lines.append(line)
        if " done " in line:
            break
    process.send_signal(signal.SIGHUP)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + rest
    assert "interrupted (SIGHUP): finishing up" in rest and "Traceback" not in rest
    summary = last_summary(tmp_path / "out")
    assert summary["interrupted"] is True and 1 <= summary["counts"]["succeeded"] < 6
    assert (tmp_path / "out" / "_runs" / summary["run_id"] / "report.html").is_file()


def test_a_terminal_that_hangs_up_mid_run_still_gets_its_summary_written(tmp_path: Path) -> None:
    """The live view on a terminal that goes away (the ssh session closed): from then on every
    write to it fails (EIO), before and after the SIGHUP that follows is handled."""
    main, child = pty.openpty()
    process = subprocess.Popen(_command(tmp_path, "--verbose"), env=cli_env(COLUMNS="100"), stdin=child,
                               stdout=child, stderr=child, close_fds=True)  # fmt: skip
    os.close(child)
    seen = b""
    with os.fdopen(main, "rb", buffering=0) as terminal:
        while b"planning: looking for recordings" not in seen:  # --verbose says when planning starts
            chunk = terminal.read(4096)
            assert chunk, seen.decode(errors="replace")
            seen += chunk
    # The terminal is gone (closing its other end: writes now fail with EIO), then the hangup.
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=60) == 130
    summary = last_summary(tmp_path / "out")
    assert summary["interrupted"] is True
    assert (tmp_path / "out" / "_runs" / summary["run_id"] / "summary.md").is_file()
