"""`batchscribe run` end to end: the CLI, the real Speech SDK, the in-process emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator import Transcripts
from batchscribe.outputs.quality import PLACEHOLDER_WARNING
from tests.conftest import Batchscribe, Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]


def run_cli(cli: CliRunner, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cli.invoke(app, ["run", *args], env=env, catch_exceptions=False)


def outputs(out: Path, suffix: str) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(f"*{suffix}") if "_runs" not in p.parts)


def test_nested_folder_gives_one_json_and_txt_per_recording(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    names = [f"calls/2026-11-{day:02d}/call{n}.wav" for day in (1, 2, 3) for n in range(3)]
    names += ["top.wav", "meetings/a.wav", "meetings/deep/er/b.WAV"]
    for seed, name in enumerate(names):
        recordings.add(name, seed=seed + 1)
    junk = recordings.root
    (junk / ".hidden.wav").write_bytes((junk / "top.wav").read_bytes())
    (junk / "._top.wav").write_bytes(b"\x00\x05\x16\x07 apple double")
    (junk / "notes.txt").write_text("not audio")
    transcripts = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"

    result = run_cli(
        cli, str(junk), "--out", str(out), "--emulate", "--emulator-transcripts", str(transcripts), *FAST
    )

    assert result.exit_code == 0, result.output
    assert outputs(out, ".json") == sorted(f"{n}.json" for n in names)
    assert outputs(out, ".txt") == sorted(f"{n}.txt" for n in names)
    for name in names:
        document = json.loads((out / f"{name}.json").read_text())
        assert document["source"] == name
        assert document["batchscribe"]["engine"] == "emulator"
        assert " ".join(p["display"] for p in document["combinedRecognizedPhrases"]) == recordings.texts[name]
        assert (out / f"{name}.txt").read_text().strip() == recordings.texts[name]
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    assert summary["counts"]["succeeded"] == len(names) and summary["exit_code"] == 0


def test_recording_failing_its_first_two_sessions_is_written_with_attempts_3(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("flaky.wav", seed=7, faults=["close:1011:sessions=2"])
    recordings.add("fine.wav", seed=8)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = run_cli(cli, str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST)

    assert result.exit_code == 0, result.output
    document = json.loads((out / "flaky.wav.json").read_text())
    assert document["batchscribe"]["attempts"] == 3
    assert emulator.stats().recordings["flaky.wav"].sessions == 3
    assert json.loads((out / "fine.wav.json").read_text())["batchscribe"]["attempts"] == 1


def test_permanent_failure_is_reported_and_the_rest_succeed(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("good.wav", seed=1)
    recordings.add("rejected.wav", seed=2, faults=["close:1007:reason=Invalid audio format"])
    (recordings.root / "garbage.mp3").write_text("this is not audio, just a renamed text file\n" * 20)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = run_cli(cli, str(recordings.root), "--out", str(out), "--host", emulator.url)

    assert result.exit_code == 1, result.output
    assert (out / "good.wav.json").is_file()
    assert not (out / "rejected.wav.json").exists() and not (out / "garbage.mp3.json").exists()
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    failures = {f["source"]: f for f in summary["failures"]}
    assert failures["rejected.wav"]["code"] == "bad_request" and failures["rejected.wav"]["attempts"] == 1
    assert failures["garbage.mp3"]["code"] == "not_media"
    assert all(f["hint"] for f in failures.values())
    assert "garbage.mp3" in result.output and "Traceback" not in result.output


def test_rejected_key_exits_3_at_once_and_the_key_is_nowhere(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(6):
        recordings.add(f"r{seed}.wav", seed=seed)
    emulator = emulator_for(recordings, faults=["http:401"])
    key = "0123456789abcdef0123456789abcdef"
    out = tmp_path / "out"

    result = run_cli(
        cli,
        str(recordings.root),
        "--out",
        str(out),
        "--host",
        emulator.url,
        "--workers",
        "2",
        *FAST,
        env={"SPEECH_KEY": key},
    )

    assert result.exit_code == 3, result.output
    assert outputs(out, ".json") == []
    assert emulator.stats().connections <= 3  # stopped scheduling at the first rejection
    assert key not in result.output
    for path in out.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    assert summary["aborted"] and summary["exit_code"] == 3


def test_stalled_session_is_cancelled_by_the_watchdog_and_retried(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("a.wav", seed=3, faults=["stall:sessions=1"])
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = run_cli(
        cli, str(recordings.root), "--out", str(out), "--host", emulator.url, "--stall-timeout", "2", *FAST
    )

    assert result.exit_code == 0, result.output
    assert json.loads((out / "a.wav.json").read_text())["batchscribe"]["attempts"] == 2
    assert len(emulator.stats().stalled_sessions) == 1


def test_throttled_first_connections_still_end_with_every_file_done(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    for seed in range(4):
        recordings.add(f"r{seed}.wav", seed=seed)
    emulator = emulator_for(recordings, faults=["http:429:first=6"])
    out = tmp_path / "out"

    result = run_cli(cli, str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST)

    assert result.exit_code == 0, result.output
    assert outputs(out, ".json") == [f"r{seed}.wav.json" for seed in range(4)]
    assert emulator.stats().rejected == 6


def test_sigint_mid_run_leaves_only_complete_files_and_exits_130(
    recordings: Recordings, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    import signal

    for seed in range(6):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=6)
    transcripts = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"
    process = batchscribe.start(
        "run", str(recordings.root), "--out", str(out), "--emulate", "--emulator-transcripts", str(transcripts),
        "--emulator-speed", "1", "--workers", "2",
    )  # fmt: skip
    lines = batchscribe.read_until(process, lambda lines: " done " in lines[-1])  # the first finished file
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    code = process.returncode
    output = "".join(lines) + rest
    assert code == 130, output
    assert "Traceback" not in output
    written = [p for p in out.rglob("*.json") if "_runs" not in p.parts]
    assert 1 <= len(written) < 6
    for path in written:
        json.loads(path.read_text())  # every file on disk is complete
    assert not list(out.rglob("*.tmp"))
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    assert summary["interrupted"] is True and summary["exit_code"] == 130
    assert len(summary["cancelled"]) + summary["counts"]["not_scheduled"] + len(written) == 6


def test_placeholder_text_of_an_unscripted_recording_says_so_in_its_json(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    recordings.add("other/unscripted.wav", seed=2)
    recordings.transcripts = Transcripts()  # the script forgets it: the emulator makes words up
    recordings.add("scripted.wav", seed=1)
    transcripts = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"

    result = run_cli(
        cli,
        str(recordings.root),
        "--out",
        str(out),
        "--emulate",
        "--emulator-transcripts",
        str(transcripts),
        *FAST,
    )

    assert result.exit_code == 0, result.output
    scripted = json.loads((out / "scripted.wav.json").read_text())["batchscribe"]
    unscripted = json.loads((out / "other/unscripted.wav.json").read_text())["batchscribe"]
    assert PLACEHOLDER_WARNING not in scripted.get("warnings", [])
    assert PLACEHOLDER_WARNING in unscripted.get("warnings", [])
    assert "other/unscripted.wav: placeholder text: the emulator has no script" in result.output
