"""Messages that misled (issue 17, item 20): each problem is said as what it is, in one line,
and the run goes on where it can."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_process import batchscribe, last_summary, recording, transcripts

pytestmark = pytest.mark.integration


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_log_file_that_cannot_be_written_is_a_warning_not_an_internal_error(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "a.wav")
    done = batchscribe("run", root, "--out", out, "--emulate", "--log-file", "/dev/full")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert (
        done.stderr.count("cannot write to /dev/full (No space left on device): the run goes on without it")
        == 1
    )
    assert len(transcripts(out)) == 1


@pytest.mark.parametrize("value", ["0.001", "0.5"])
def test_a_stall_timeout_too_short_to_connect_is_refused_as_such(tmp_path: Path, value: str) -> None:
    recording(tmp_path / "in" / "a.wav")
    done = batchscribe(
        "run", tmp_path / "in", "--out", tmp_path / "out", "--emulate", "--stall-timeout", value
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"--stall-timeout: {value} s is too short: connecting to the service alone takes longer"
        in done.stderr
    )
    assert "give at least 1 s, e.g. --stall-timeout 60" in done.stderr and "reach" not in done.stderr


def _failure(out: Path) -> dict[str, object]:
    summary = last_summary(out)
    [failure] = summary["failures"]
    return failure  # type: ignore[no-any-return]


def test_a_mirrored_path_over_path_max_is_said_as_such_and_no_audio_is_sent(tmp_path: Path) -> None:
    deep = tmp_path.joinpath("in", *(f"{n:02d}" + "d" * 248 for n in range(15)))  # ~3,800 bytes: readable
    recording(deep / "a.wav")
    recording(tmp_path / "in" / "ok.wav")
    out = tmp_path / ("o" * 250) / ("p" * 140)  # its mirror of a.wav is over 4,096 bytes (SQLite takes 512)
    done = batchscribe("run", tmp_path / "in", "--out", out, "--emulate")
    assert done.returncode == 1, done.stdout + done.stderr
    failure = _failure(out)
    assert failure["code"] == "path_too_long" and failure["attempts"] == 0  # checked first: nothing paid
    assert "its output path is too long for the file system (4," in str(failure["message"])
    assert "shorter --out" in str(failure["hint"]) and len(transcripts(out)) == 1


def test_an_output_folder_taken_by_a_file_fails_before_any_audio_is_sent(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "calls" / "a.wav")
    out.mkdir()
    (out / "calls").write_text("not a folder")  # someone's file, where the mirror needs a folder
    done = batchscribe("run", root, "--out", out, "--emulate")
    assert done.returncode == 1, done.stdout + done.stderr
    failure = _failure(out)
    assert failure["code"] == "output_unwritable" and failure["attempts"] == 0
    assert "calls is a file, not a folder" in str(failure["message"])
    assert (out / "calls").read_text() == "not a folder"
