"""Unattended nights through the CLI and the real SDK: abort when nothing can work, known
failures left alone, quiet no-op nights, plan = run, doctor without a key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.report import latest_run_dir
from tests.conftest import Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]
REJECTED = "close:1007:reason=Unsupported audio format"  # the service refuses it: permanent


def cron(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "SPEECH_KEY": "k" * 32, "PYTHONPATH": str(Path.cwd())}
    return subprocess.run(
        [sys.executable, "-m", "batchscribe", *args],
        env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def sessions(emulator) -> int:  # type: ignore[no-untyped-def]
    return sum(r.sessions for r in emulator.stats().recordings.values())


def test_unreachable_address_stops_the_run_at_once_with_exit_3_naming_it(
    recordings: Recordings, tmp_path: Path, refused_port: int
) -> None:
    for seed in range(12):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=2.0)
    address = f"ws://127.0.0.1:{refused_port}"
    started = time.monotonic()
    done = cron("run", str(recordings.root), "--out", str(tmp_path / "out"), "--host", address)
    took = time.monotonic() - started
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"cannot reach the Speech service at {address}: connection refused" in done.stdout
    assert "check --host/--endpoint" in done.stdout
    # Three failed attempts, not 12 files x 4 attempts with backoff (52 s before).
    assert took < 30, took
    summary = json.loads((latest_run_dir(tmp_path / "out") / "summary.json").read_text())  # type: ignore[operator]
    assert summary["counts"]["failed"] == 0 and summary["exit_code"] == 3
    assert summary["counts"]["cancelled"] + summary["counts"]["not_scheduled"] == 12
    assert "Failures" not in done.stdout  # no table blaming 12 innocent files


def test_permanent_failure_is_not_sent_again_until_retry_failed(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("good.wav", seed=1)
    recordings.add("refused.wav", seed=2, faults=[REJECTED])
    (recordings.root / "notes.mp3").write_text("not audio at all\n" * 50)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    base = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST]

    first = cli.invoke(app, base)
    assert first.exit_code == 1, first.output
    sent = sessions(emulator)

    planned = json.loads(cli.invoke(app, ["plan", str(recordings.root), "--out", str(out), "--json"]).output)
    assert (planned[0]["to_send"], planned[0]["still_failing"]) == (0, 2)

    second = cli.invoke(app, base)
    assert second.exit_code == 0, second.output  # nothing new failed tonight
    assert sessions(emulator) == sent  # the refused file was not sent again
    assert "2 files still failing" in second.output

    again = cli.invoke(app, [*base, "--retry-failed"])
    assert again.exit_code == 1, again.output
    assert sessions(emulator) == sent + 1  # --retry-failed sends it again
    summary = json.loads((latest_run_dir(out) / "summary.json").read_text())  # type: ignore[operator]
    assert {f["source"] for f in summary["failures"]} == {"refused.wav", "notes.mp3"}


def test_still_failing_is_listed_apart_with_its_date(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("refused.wav", seed=2, faults=[REJECTED])
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    base = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST]
    assert cli.invoke(app, base).exit_code == 1
    recordings.add("new.wav", seed=3)
    emulator.stop()
    emulator = emulator_for(recordings)
    night = cli.invoke(app, ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST])
    assert night.exit_code == 0, night.output
    summary = json.loads((latest_run_dir(out) / "summary.json").read_text())  # type: ignore[operator]
    assert summary["failures"] == [] and summary["counts"]["succeeded"] == 1
    [still] = summary["still_failing"]
    assert still["source"] == "refused.wav" and still["code"] == "bad_request"
    assert still["since"] and still["since"] < summary["started_at"]
    assert "Still failing (1)" in (latest_run_dir(out) / "summary.md").read_text()  # type: ignore[operator]


def test_quiet_no_op_night_prints_nothing_and_leaves_the_last_real_run_latest(
    recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("a.wav", seed=1)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    command = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST]
    first = cron(*command, "-q")
    assert first.returncode == 0 and first.stdout == "" and first.stderr == "", first.stdout + first.stderr
    real = latest_run_dir(out)

    quiet = cron(*command, "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    loud = cron(*command)
    assert loud.returncode == 0
    assert loud.stdout.splitlines()[-2:] == [f"outputs: {out}", f"last report: {real}/report.html"]
    assert latest_run_dir(out) == real  # the no-op nights made no run folder
    listed = cron("report", "--list", "--out", str(out))
    assert listed.stdout.splitlines()[1].startswith(real.name)  # type: ignore[union-attr]


def test_plain_summary_without_a_terminal_does_not_wrap_and_ends_with_where_things_are(
    recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    name = "a-recording-with-a-rather-long-name-" + "x" * 60 + ".wav"
    recordings.add(name, seed=1, faults=[REJECTED])
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    done = cron("run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "result: 1 of 1 file failed; see what to do below." in lines
    assert "failed_before: 0" not in done.stdout and "discovered: 1" in lines
    assert any(line.startswith("  " + name) and "bad_request" in line for line in lines)  # one line, whole
    assert all(ord(ch) < 128 for ch in done.stdout.replace(name, ""))  # no box drawing
    report = latest_run_dir(out)
    assert lines[-2:] == [f"outputs: {out}", f"report: {report}/report.html"]


def test_broken_pipe_keeps_the_runs_exit_code(recordings: Recordings, tmp_path: Path, emulator_for) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3):
        recordings.add(f"r{seed}.wav", seed=seed)
    emulator = emulator_for(recordings)
    command = [sys.executable, "-m", "batchscribe", "run", str(recordings.root), "--out", str(tmp_path / "out"),
               "--host", emulator.url, *FAST]  # fmt: skip
    env = {**os.environ, "SPEECH_KEY": "k" * 32}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()  # like `| head -1`
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    summary = json.loads((latest_run_dir(tmp_path / "out") / "summary.json").read_text())  # type: ignore[operator]
    assert code == summary["exit_code"] == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_doctor_without_a_key_reports_every_check(cli: CliRunner, tmp_path: Path) -> None:
    env = {"SPEECH_KEY": "", "AZURE_AI_SPEECH_KEY": "", "SPEECH_REGION": ""}
    result = cli.invoke(app, ["doctor", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 1
    names = [line.split()[1] for line in result.output.splitlines()]
    assert names == ["credentials", "endpoint", "output", "decoder", "speech", "state", "lock"]
    assert result.output.startswith("FAIL credentials    no Speech key")


def test_doctor_suggests_the_region_and_says_whether_the_key_was_accepted(
    cli: CliRunner, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    out = ["--out", str(tmp_path / "out")]
    typo = cli.invoke(app, ["doctor", *out, "--region", "westeuropa"], env={"SPEECH_KEY": "k" * 32})
    assert "did you mean westeurope?" in typo.output and typo.exit_code == 2  # refused as run refuses it
    emulator = emulator_for(key="right-key")
    accepted = cli.invoke(app, ["doctor", *out, "--host", emulator.url], env={"SPEECH_KEY": "right-key"})
    assert accepted.exit_code == 0, accepted.output
    assert "(the key was accepted)" in accepted.output
    rejected = cli.invoke(app, ["doctor", *out, "--host", emulator.url], env={"SPEECH_KEY": "wrong-key"})
    assert rejected.exit_code == 1
    assert "the key was rejected by the probe session" in rejected.output
    assert "wrong-key" not in rejected.output


def test_help_renders_brackets_and_readable_metavars(cli: CliRunner) -> None:
    result = cli.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "Prefix each line of the .txt with [hh:mm:ss]." in result.output
    assert "<bool>" not in result.output and "<list[str]>" not in result.output
    assert "GLOB" in result.output and "SECONDS" in result.output
    for command in ("run", "plan", "doctor"):  # every option has a metavar a person understands
        shown = cli.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert not {" TEXT ", " INTEGER ", " FLOAT "} & {f" {w} " for w in shown.split()}, command
