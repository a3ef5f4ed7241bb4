"""File names that are not UTF-8 (issue 17, item 15): split into chunks, failing, or next to a file
literally named like their escaped form, each is transcribed once, and the summary is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchscribe.emulator.synth import burst_samples, write_wav
from batchscribe.names import shown, stored
from tests.cli.cli_process import batchscribe, last_summary, recording, transcripts

pytestmark = pytest.mark.integration

UNDECODABLE = os.fsdecode(b"\xff.wav")
LOOKALIKE = "\\xff.wav"  # a valid UTF-8 name: backslash, x, f, f


def test_every_name_has_its_own_key() -> None:
    # (a source never starts with "//": it is a path relative to its scanned root)
    names = [UNDECODABLE, LOOKALIKE, "\\\\xff.wav", os.fsdecode(b"\\\xff.wav"), os.fsdecode(b"a/\xfe\xff.wav"),
             "plain.wav"]  # fmt: skip
    keys = [stored(name) for name in names]
    assert len(set(keys)) == len(names), keys
    assert all(key.encode("utf-8") for key in keys)
    assert stored("plain.wav") == "plain.wav" and stored("café/a.wav") == "café/a.wav"  # old keys stay


def test_an_undecodable_name_and_its_lookalike_are_each_done_once(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / UNDECODABLE, 1)
    recording(root / LOOKALIKE, 2)
    first = batchscribe("run", root, "--out", out, "--emulate", "--emulator-speed", "20")
    assert first.returncode == 0, first.stdout + first.stderr
    assert last_summary(out)["counts"]["succeeded"] == 2 and len(transcripts(out)) == 2
    again = batchscribe("run", root, "--out", out, "--emulate", "--emulator-speed", "20")
    assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stdout + again.stderr


@pytest.mark.slow  # ~30 s: a long recording in chunks
def test_a_chunked_recording_with_an_undecodable_name_is_transcribed(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    name = os.fsdecode(b"long_\xff\xfe.wav")
    write_wav(root / name, burst_samples(3, 130.0))
    done = batchscribe(
        "run", root, "--out", out, "--emulate", "--emulator-speed", "50", "--chunk-seconds", "60"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "internal error" not in output and "Traceback" not in output
    assert (out / f"{name}.json").is_file() and shown(name) in done.stdout
    assert last_summary(out)["counts"]["succeeded"] == 1
    again = batchscribe(
        "run", root, "--out", out, "--emulate", "--emulator-speed", "50", "--chunk-seconds", "60"
    )
    assert again.returncode == 0 and "Nothing to do" in again.stdout


def test_a_failing_file_with_an_undecodable_name_still_gets_its_summary(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    name = os.fsdecode(b"broken_\xff.wav")
    (root / name).parent.mkdir(parents=True)
    (root / name).write_bytes(b"not audio at all" * 100)
    recording(root / "fine.wav")
    for night in (1, 2):  # the second night lists it as still failing
        done = batchscribe("run", root, "--out", out, "--emulate", "--emulator-speed", "20")
        assert done.returncode in (0, 1) and "internal error" not in done.stdout + done.stderr, done.stderr
        summary = last_summary(out) if night == 1 else None
        if summary is not None:
            assert summary["counts"]["failed"] == 1 and summary["not_sent"][0]["source"] == shown(name)
        assert (out / "_runs").is_dir()
