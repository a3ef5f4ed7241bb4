"""Nightly operation: incremental runs, crash safety, the lock, plan, a free-tier key."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.outputs.atomic import is_temp_name
from tests.conftest import KEY, Batchscribe, Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]


def transcripts(out: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        str(p.relative_to(out)): json.loads(p.read_text())
        for p in out.rglob("*.json")
        if "_runs" not in p.parts
    }


def last_summary(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(sorted((out / "_runs").glob("*/summary.json"))[-1].read_text())


def test_cron_run_twice_second_does_nothing(
    recordings: Recordings, tmp_path: Path, emulator_for, batchscribe: Batchscribe
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(4):
        recordings.add(f"day/r{seed}.wav", seed=seed)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    env = {"PATH": os.environ.get("PATH", ""), "SPEECH_KEY": KEY}  # like cron: nearly empty
    command = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST]

    first = batchscribe.run(*command, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "\x1b[" not in first.stdout  # no terminal: no colours, no live view
    assert len(transcripts(out)) == 4
    sessions_after_first = sum(r.sessions for r in emulator.stats().recordings.values())

    started = time.monotonic()
    second = batchscribe.run(*command, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert time.monotonic() - started < 15
    assert sum(r.sessions for r in emulator.stats().recordings.values()) == sessions_after_first
    assert (
        "Nothing to do" in second.stdout and "Nothing to do: Nothing" not in second.stdout
    )  # and no run folder that would hide the first run
    assert len(list((out / "_runs").iterdir())) == 1


def test_new_file_and_changed_language_redo_exactly_the_right_files(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3):
        recordings.add(f"r{seed}.wav", seed=seed)
    arriving = recordings.add("../incoming/r3.wav", seed=3)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    base = [str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST]

    assert cli.invoke(app, ["run", *base]).exit_code == 0
    arriving.rename(recordings.root / "r3.wav")  # a new recording arrives
    assert cli.invoke(app, ["run", *base]).exit_code == 0
    summary = last_summary(out)
    assert summary["counts"]["new"] == 1 and summary["counts"]["skipped_done"] == 3

    (recordings.root / "r1.wav").write_bytes((recordings.root / "r2.wav").read_bytes())  # content changed
    assert cli.invoke(app, ["run", *base]).exit_code == 0
    assert last_summary(out)["counts"]["changed"] == 1
    (out / "r0.wav.txt").unlink()  # deleted by hand: rendered again from the JSON, no audio sent
    sessions = emulator.stats().recordings["r0.wav"].sessions
    assert cli.invoke(app, ["run", *base, "--formats", "json,txt,srt"]).exit_code == 0  # and a format added
    counts = last_summary(out)["counts"]
    assert (counts["rerendered"], counts["changed"], counts["succeeded"]) == (4, 0, 0)
    assert (out / "r0.wav.txt").is_file() and all((out / f"r{n}.wav.srt").is_file() for n in range(4))
    assert emulator.stats().recordings["r0.wav"].sessions == sessions
    (out / "r0.wav.json").unlink()  # the record itself deleted: transcribed again
    assert cli.invoke(app, ["run", *base]).exit_code == 0
    assert last_summary(out)["counts"]["changed"] == 1

    assert cli.invoke(app, ["run", *base, "--language", "de-DE"]).exit_code == 0
    summary = last_summary(out)
    assert summary["counts"]["changed"] == 4 and summary["counts"]["succeeded"] == 4
    assert all(d["batchscribe"]["settings"]["language"] == "de-DE" for d in transcripts(out).values())


def test_kill_9_then_run_again_every_file_done_exactly_once(
    recordings: Recordings, tmp_path: Path, emulator_for, batchscribe: Batchscribe
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(8):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=3)
    emulator = emulator_for(recordings, speed=2.0)
    out = tmp_path / "out"
    command = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, "--workers=2", *FAST]

    first = batchscribe.start(*command)
    batchscribe.read_until(first, lambda lines: sum(" done " in line for line in lines) == 3)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    survived = set(transcripts(out))
    assert 3 <= len(survived) < 8
    for path in out.rglob("*"):  # a kill mid-write leaves a hidden temp file, never a partial output
        if path.is_dir() or is_temp_name(path.name) or {"_state", "_runs"} & set(path.parts):
            continue
        recording = path.name.rsplit(".", 1)[0]
        if path.suffix == ".json":
            assert json.loads(path.read_text())["source"] == recording, path
        else:
            assert path.read_text().strip() == recordings.texts[recording], path
    before = {name: stats.completed_turns for name, stats in emulator.stats().recordings.items()}

    second = batchscribe.run(*command)
    assert second.returncode == 0, second.stdout + second.stderr
    after = {name: stats.completed_turns for name, stats in emulator.stats().recordings.items()}
    assert set(transcripts(out)) == {f"r{seed}.wav.json" for seed in range(8)}
    for name in (f"r{seed}.wav" for seed in range(8)):
        if f"{name}.json" in survived:
            assert after[name] == before[name], f"{name} was transcribed again"
        else:
            assert after[name] - before.get(name, 0) == 1, f"{name} not transcribed exactly once"
    assert not list(out.rglob("*.tmp"))


def test_second_run_at_once_exits_3_naming_the_first(
    recordings: Recordings, tmp_path: Path, emulator_for, batchscribe: Batchscribe
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(4):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=4)
    emulator = emulator_for(recordings, speed=1.0)
    out = tmp_path / "out"
    command = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, "--workers", "1"]
    first = batchscribe.start(*command)
    try:
        assert emulator.wait_until(lambda s: s.connections >= 1, timeout=30)
        started = time.monotonic()
        second = batchscribe.run(*command, timeout=60)
        assert second.returncode == 3, second.stdout + second.stderr
        assert time.monotonic() - started < 10
        assert f"pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)


def test_plan_matches_what_run_then_does(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3):
        recordings.add(f"r{seed}.wav", seed=seed)
    arriving = [recordings.add(f"../incoming/r{seed}.wav", seed=seed) for seed in (3, 4)]
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    base = [str(recordings.root), "--out", str(out)]
    assert cli.invoke(app, ["run", *base, "--host", emulator.url, *FAST]).exit_code == 0
    for path in arriving:
        path.rename(recordings.root / path.name)

    planned = cli.invoke(app, ["plan", *base, "--json"])
    assert planned.exit_code == 0, planned.output
    [row] = json.loads(planned.output)
    assert (
        row["new"],
        row["changed"],
        row["done"],
        row["failed_before"],
        row["not_settled"],
        row["to_do"],
    ) == (2, 0, 3, 0, 0, 2)
    assert row["audio_hours"] == pytest.approx(8 / 3600, abs=1e-3)
    assert len(list((out / "_runs").glob("*"))) == 1  # plan ran nothing

    assert cli.invoke(app, ["run", *base, "--host", emulator.url, *FAST]).exit_code == 0
    counts = last_summary(out)["counts"]
    assert (counts["new"], counts["changed"], counts["skipped_done"], counts["succeeded"]) == (2, 0, 3, 2)


def test_free_tier_key_with_8_workers_finishes_with_few_429s(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    # Sessions must outlast the SDK's own retries of a refused upgrade (~1 s), as real files do.
    for seed in range(6):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=1.5)
    emulator = emulator_for(recordings, max_sessions=1, speed=1.0)
    out = tmp_path / "out"

    result = cli.invoke(
        app, ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, "--workers", "8", *FAST]
    )

    assert result.exit_code == 0, result.output
    assert len(transcripts(out)) == 6
    # The SDK retries a refused upgrade 4 times itself, so one throttled session is 5 refusals.
    assert emulator.stats().rejected <= 2 * 5, emulator.stats().rejected
    counts = last_summary(out)["counts"]
    assert counts["throttled"] >= 1 and counts["final_concurrency"] == 1


def test_files_still_being_written_wait_for_the_next_run(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    recordings.add("old.wav", seed=1)
    fresh = recordings.add("fresh.wav", seed=2)
    old = recordings.root / "old.wav"
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    script = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"
    args = [
        "run",
        str(recordings.root),
        "--out",
        str(out),
        "--emulate",
        "--emulator-transcripts",
        str(script),
        *FAST,
    ]

    assert cli.invoke(app, [*args, "--settle", "600"]).exit_code == 0
    counts = last_summary(out)["counts"]
    assert (counts["not_settled"], counts["succeeded"]) == (1, 1)
    assert set(transcripts(out)) == {"old.wav.json"}
    os.utime(fresh, (an_hour_ago, an_hour_ago))  # the copy has finished
    assert cli.invoke(app, [*args, "--settle", "600"]).exit_code == 0
    assert last_summary(out)["counts"]["succeeded"] == 1
