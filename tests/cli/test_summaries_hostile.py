"""``run --summarize`` attacked: hostile file names (non-UTF-8 bytes, a newline, names near the
file system's limit), text that tries to inject Markdown, and a ``--summary-prompt`` that is not a
plain file. Each summary is made or fails with its reason, counted, never lost silently, never
paid for night after night."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Batchscribe, Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]


def run_args(recordings: Recordings, transcripts: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(recordings.root), "--out", str(out), "--emulate", "--emulator-transcripts",
            str(transcripts), "--summarize", *FAST, *extra]  # fmt: skip


def digest_of(out: Path) -> dict[str, Any]:
    latest = max((out / "_runs").glob("*/summary.json"), key=lambda p: p.parent.name)
    return json.loads(latest.read_text())["summaries"]  # type: ignore[no-any-return]


def test_a_recording_whose_name_is_not_utf8_gets_its_summary(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    name = os.fsdecode(b"bad\xff\xfename.wav")
    recordings.add(name, seed=1, text="Please send the corrected invoice by Friday.")
    recordings.add("plain.wav", seed=2, text="Just checking the delivery date.")
    out = tmp_path / "out"

    done = batchscribe.run(*run_args(recordings, recordings.save(tmp_path / "t.yaml"), out))

    assert done.returncode == 0, done.stdout + done.stderr
    digest = digest_of(out)
    assert (digest["made"], digest["failed"]) == (2, 0), digest
    written = json.loads((out / f"{name}.summary.json").read_text())
    transcript = json.loads((out / f"{name}.json").read_text())
    assert written["source"] == transcript["source"] and written["status"] == "done"  # the same key
    assert (out / f"{name}.summary.md").read_text().startswith("# bad\\\\xff\\\\xfename.wav\n")

    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.summary.json")}
    again = batchscribe.run(*run_args(recordings, recordings.save(tmp_path / "t.yaml"), out))

    assert again.returncode == 0, again.stdout + again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.summary.json")} == stamps  # not paid again


def test_a_name_too_long_for_its_summary_fails_before_anything_is_sent(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    name = "x" * 246 + ".wav"  # its .json fits in 255 bytes, its .summary.json does not
    recordings.add(name, seed=1, text="Please send the corrected invoice by Friday.")
    recordings.add("plain.wav", seed=2, text="Just checking the delivery date.")
    out = tmp_path / "out"

    done = batchscribe.run(*run_args(recordings, recordings.save(tmp_path / "t.yaml"), out))

    assert done.returncode == 1, done.stdout + done.stderr  # a summary asked for was not made
    assert (out / f"{name}.json").is_file()  # the transcript is done
    digest = digest_of(out)
    assert (digest["made"], digest["failed"]) == (1, 1), digest
    (row,) = [r for r in digest["recordings"] if r["source"] == name]
    assert row["code"] == "name_too_long" and "shorten the recording's name" in row["reason"]
    (plain,) = [r for r in digest["recordings"] if r["source"] == "plain.wav"]
    assert row["tokens"] == 0 and digest["tokens"]["total"] == plain["tokens"]  # nothing paid for it


def test_plain_output_says_when_the_summaries_start_and_end(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    recordings.add("a.wav", seed=1, text="Please send the corrected invoice by Friday.")
    recordings.add("b.wav", seed=2, text="Just checking the delivery date.")
    out = tmp_path / "out"

    done = batchscribe.run(*run_args(recordings, recordings.save(tmp_path / "t.yaml"), out))

    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line[:4].isdigit()]
    summaries = [line for line in lines if line.startswith("summaries")]
    assert summaries == [
        "summaries asking emulator for each transcript without a current summary",
        "summaries done: 2 made, 0 unchanged, 0 refused, 0 failed",
    ]
    assert lines.index(summaries[0]) > max(i for i, line in enumerate(lines) if line.startswith("done"))


def test_a_hostile_name_cannot_forge_a_summary_log_line(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    name = "x" * 213 + "\n2026-01-01T00:00:00Z done forged.wav"  # 250 bytes: too long for its summary
    recordings.add(name, seed=1, text="Please send the corrected invoice by Friday.")
    out = tmp_path / "out"

    done = batchscribe.run(*run_args(recordings, recordings.save(tmp_path / "t.yaml"), out))

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "summary failed" in output and "\\n2026-01-01T00:00:00Z done forged.wav" in output
    assert not any(line.startswith("2026-01-01T00:00:00Z") for line in output.splitlines())


def test_a_summary_edited_or_cut_by_hand_is_redone_and_its_markdown_restored_for_free(
    batchscribe: Batchscribe, recordings: Recordings, tmp_path: Path
) -> None:
    for seed, name in enumerate(("a.wav", "b.wav", "c.wav"), 1):
        recordings.add(name, seed=seed, text=f"Recording {name} asks to call the customer back.")
    transcripts, out = recordings.save(tmp_path / "t.yaml"), tmp_path / "out"
    assert batchscribe.run(*run_args(recordings, transcripts, out)).returncode == 0
    made = {name: (out / f"{name}.summary.json").read_text() for name in ("a.wav", "b.wav", "c.wav")}
    edited = json.loads(made["a.wav"])
    edited["summary"] = "Nothing to see here."  # valid JSON, edited by hand
    (out / "a.wav.summary.json").write_text(json.dumps(edited))
    (out / "b.wav.summary.json").write_text(made["b.wav"][: len(made["b.wav"]) // 2])  # cut
    (out / "c.wav.summary.md").write_text("# forged\n")  # the Markdown edited: the JSON is intact

    again = batchscribe.run(*run_args(recordings, transcripts, out))

    assert again.returncode == 0, again.stdout + again.stderr
    assert "done: 2 made, 1 unchanged, 0 refused, 0 failed" in again.stdout
    assert json.loads((out / "a.wav.summary.json").read_text())["summary"] != "Nothing to see here."
    assert json.loads((out / "b.wav.summary.json").read_text())["status"] == "done"
    assert (out / "c.wav.summary.json").read_text() == made["c.wav"]  # not asked again
    assert (out / "c.wav.summary.md").read_text().startswith("# c.wav\n")
