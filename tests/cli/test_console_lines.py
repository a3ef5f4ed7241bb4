"""What a run prints on the console: its own news, not the in-process emulator's."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_process import FAST, batchscribe, recording


def test_verbose_with_emulate_keeps_the_emulators_websocket_log_out(tmp_path: Path) -> None:
    recording(tmp_path / "in" / "a.wav", seconds=3.0)
    done = batchscribe("run", tmp_path / "in", "--out", tmp_path / "out", "--emulate", "-v", *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert any("planning: looking for recordings" in line for line in lines)  # -v still shows the run's
    assert not [line for line in lines if "websockets" in line or "batchscribe.emulator" in line]
    assert len(lines) < 60


def test_report_ends_with_the_paths_of_the_summary_and_the_html_report(tmp_path: Path) -> None:
    recording(tmp_path / "in" / "a.wav")
    out = tmp_path / "out"
    assert batchscribe("run", tmp_path / "in", "--out", out, "--emulate", *FAST).returncode == 0
    (folder,) = (out / "_runs").iterdir()
    shown = batchscribe("report", "--out", out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[-2:] == [
        f"summary: {folder.resolve() / 'summary.md'}",
        f"report: {folder.resolve() / 'report.html'}",
    ]


def test_without_a_terminal_the_run_says_at_once_what_it_will_send(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        recording(tmp_path / "in" / f"r{seed}.wav", seed=seed, seconds=4.0)
    done = batchscribe("run", tmp_path / "in", "--out", tmp_path / "out", "--emulate")
    lines = done.stdout.splitlines()
    planned = [i for i, line in enumerate(lines) if " planned " in line]
    assert len(planned) == 1, lines
    assert lines[planned[0]].endswith("planned   3 recordings to send, 0:00:12 of audio")
    first_end = min(i for i, line in enumerate(lines) if " done " in line or " failed " in line)
    assert planned[0] < first_end  # before the first file ends (each takes 2 s at the SDK's pace)
    quiet = batchscribe("run", tmp_path / "in", "--out", tmp_path / "again", "--emulate", "-q", *FAST)
    assert " planned " not in quiet.stdout


def test_a_night_of_several_jobs_ends_with_their_total_and_its_exit_code(tmp_path: Path) -> None:
    recording(tmp_path / "calls" / "a.wav", seed=1, seconds=2.0)
    recording(tmp_path / "calls" / "b.wav", seed=2, seconds=2.0)
    recording(tmp_path / "meetings" / "c.wav", seed=3, seconds=2.0)
    (tmp_path / "meetings" / "broken.wav").write_bytes(b"RIFF....not audio")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        f"  calls: {{inputs: [{tmp_path / 'calls'}], out: {tmp_path / 'out' / 'calls'}}}\n"
        f"  meetings: {{inputs: [{tmp_path / 'meetings'}], out: {tmp_path / 'out' / 'meetings'}}}\n"
    )
    done = batchscribe("run", "--jobs", jobs, "--emulate", *FAST)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        done.stdout.splitlines()[-1]
        == "all jobs: 2 jobs, 3 done, 1 failed, 0:00:06 of audio transcribed; exit 1"
    )


def test_an_interrupted_chunked_recording_is_counted_once(tmp_path: Path) -> None:
    import json
    import signal
    import subprocess
    import sys

    from batchscribe.emulator import Emulator
    from tests.cli.cli_process import cli_env

    recording(tmp_path / "in" / "long.wav", seed=1, seconds=240.0)  # four chunks of a minute
    recording(tmp_path / "in" / "short.wav", seed=2, seconds=2.0)
    out = tmp_path / "out"
    with Emulator(speed=1.0) as emulator:  # a chunk's session lasts a minute
        process = subprocess.Popen(
            [sys.executable, "-m", "batchscribe", "run", str(tmp_path / "in"), "--out", str(out),
             "--host", emulator.url, "--workers", "1", "--chunk-seconds", "60"],
            env=cli_env(SPEECH_KEY="k" * 32), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            # The first chunk's session is open, the other chunks and short.wav wait in the queue.
            assert emulator.wait_until(lambda s: s.open_connections >= 1, timeout=60)
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=60)
        finally:
            process.kill()
            process.communicate()
    assert process.returncode == 130, output
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    counts = summary["counts"]
    assert summary["cancelled"] == ["long.wav"] and counts["not_scheduled"] == 1  # short.wav
    assert counts["succeeded"] + counts["failed"] + len(summary["cancelled"]) + counts["not_scheduled"] == 2
