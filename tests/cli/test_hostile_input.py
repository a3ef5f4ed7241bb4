"""Hostile names and bad input through the CLI: transcribed or refused in one line, shown escaped,
never parsed as markup, never a traceback (issue 12, points 3, 4 and 8)."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import RecognitionOptions
from batchscribe.names import shown
from batchscribe.planning.planner import WorkItem
from batchscribe.running.events import Fanout
from batchscribe.running.run import run_batch
from tests.cli.cli_process import FAST, batchscribe, last_summary, planned, recording, transcripts

pytestmark = pytest.mark.integration

HOSTILE = {
    "newline": "new\nline.wav",
    "tab": "tab\there.wav",
    "esc": "esc\x1b[31mred.wav",
    "command": "$(touch pwned).wav",
    "dash": "-rf.wav",
    "markup": "[/x] [bold]b.wav",
    "nfc": unicodedata.normalize("NFC", "café.wav"),
    "nfd": unicodedata.normalize("NFD", "café.wav"),
    "long": "l" * 246 + ".wav",  # 250 bytes: its .json is 255, the longest name a file system takes
    "not utf-8": os.fsdecode(b"bad\xff\xfe.wav"),
}


def test_hostile_names_are_all_transcribed_and_shown_escaped(tmp_path: Path) -> None:
    root, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "run.log"
    for seed, name in enumerate(HOSTILE.values(), start=1):
        recording(root / name, seed)

    done = batchscribe("run", root, "--out", out, "--emulate", *FAST, "--log-file", log)

    shown_output = done.stdout + done.stderr
    assert done.returncode == 0, shown_output
    assert "Traceback" not in shown_output and "internal error" not in shown_output
    for name in HOSTILE.values():
        assert (out / f"{name}.json").is_file() and (out / f"{name}.txt").is_file(), name
    assert len(transcripts(out)) == len(HOSTILE)
    logged = log.read_text(encoding="utf-8")
    for text in (done.stdout, logged):
        assert "\x1b[31m" not in text and not (tmp_path / "pwned").exists()
        done_lines = [line for line in text.splitlines() if re.match(r"\S+Z done ", line)]
        assert len(done_lines) == len(HOSTILE)
        for name in HOSTILE.values():
            assert shown(name) in text, shown(name)
    assert "bad\\xff\\xfe.wav" in logged and "new\\nline.wav" in logged
    summary = last_summary(out)
    assert summary["counts"]["succeeded"] == len(HOSTILE)
    report = (sorted((out / "_runs").glob("*/report.html"))[-1]).read_text(encoding="utf-8")
    assert "\x1b" not in report
    document = json.loads((out / f"{HOSTILE['not utf-8']}.json").read_text(encoding="utf-8"))
    assert document["source"] == "bad\\xff\\xfe.wav"

    again = batchscribe("run", root, "--out", out, "--emulate", *FAST)
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    assert planned(root, out=out)["done"] == len(HOSTILE) and planned(root, out=out)["to_send"] == 0


def test_user_text_in_an_error_is_not_parsed_as_markup(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "[/x]", "--out", str(tmp_path / "out"), "--emulate"])
    assert result.exit_code == 2, result.output
    assert "[/x] does not exist" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_jobs_file_with_no_jobs_is_one_line(tmp_path: Path, command: str) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n", encoding="utf-8")
    result = CliRunner().invoke(app, [command, "--jobs", str(jobs)])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "[/srv/" in result.output
    assert len(result.output.strip().splitlines()) <= 3 and "Traceback" not in result.output


def test_an_empty_out_is_refused(tmp_path: Path) -> None:
    recording(tmp_path / "in" / "a.wav")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), "--out", "", "--emulate"])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output
    assert not list(Path.cwd().glob("a.wav.*"))


def test_a_file_vanishing_mid_run_fails_that_file_with_a_reason(tmp_path: Path, emulator_for) -> None:  # type: ignore[no-untyped-def]
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "a.wav", 1, seconds=1)
    victim = recording(root / "b.wav", 2, seconds=1)
    settings = RunSettings(inputs=(root,), out=out, endpoint=Endpoint(kind="emulator", key="emulator",
                           url=emulator_for().url), options=RecognitionOptions(), workers=1, retries=0,
                           sdk_send_rate=50.0)  # fmt: skip

    class DeleteWhenItsTurnComes(Fanout):
        """Deletes b.wav after planning, when its worker takes it, before its session opens it."""

        def file_started(self, item: WorkItem, worker: int) -> None:
            if item.source == "b.wav":
                victim.unlink()

    result = run_batch(settings, events=DeleteWhenItsTurnComes([]))

    (failure,) = [f for f in result.files if f.status == "failed"]
    assert failure.source == "b.wav" and failure.failure is not None
    assert failure.failure.code == "vanished", failure.failure
    assert "moved or deleted" in failure.failure.hint and "internal" not in failure.failure.message
    assert result.exit_code == 1 and (out / "a.wav.json").is_file()
    assert not (out / "b.wav.json").exists() and not (out / "b.wav.txt").exists()
