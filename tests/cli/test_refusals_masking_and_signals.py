"""The smaller findings of issue 12 (point 8), each through the CLI: keys in URLs and folded YAML,
permanent refusals, unreadable folders, overlapping inputs, alias bombs and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator.synth import burst_samples, write_wav
from tests.cli.cli_process import FAST, cli_env, last_summary, recording
from tests.conftest import Recordings

pytestmark = pytest.mark.integration
KEY = "0123456789abcdef0123456789abcdef"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("fault", "code"), [("http:404", "endpoint_refused"), ("close:1008", "policy_violation")]
)
def test_a_404_and_a_policy_close_are_permanent_not_retried(
    recordings: Recordings, tmp_path: Path, emulator_for, fault: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("a.wav", seed=1)
    emulator = emulator_for(recordings, faults=[fault])
    exit_code, output = invoke("run", str(recordings.root), "--out", str(tmp_path / "out"),
                               "--host", emulator.url, "--retries", "3", *FAST)  # fmt: skip
    assert exit_code == 1, output
    (failure,) = last_summary(tmp_path / "out")["failures"]
    assert (failure["class"], failure["code"], failure["attempts"]) == ("permanent", code, 1)


def test_a_key_inside_the_host_url_is_masked_everywhere(
    recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("a.wav", seed=1)
    emulator = emulator_for(recordings)
    second = "fedcba9876543210fedcba9876543210"
    host = emulator.url.replace("ws://", f"ws://user:{KEY}@") + f"/?subscription-key={second}"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(recordings.root), "--out", str(out), "--host", host, "--retries", "0", *FAST]
    )
    assert result.exit_code in (0, 1), result.output  # whether the SDK connects so is not the point
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".html", ".txt"):
            text = path.read_text(encoding="utf-8")
            assert KEY not in text and second not in text, path
    assert KEY not in result.output and second not in result.output
    assert last_summary(out)["settings"]["endpoint"].startswith("host:ws://127.0.0.1")


def test_a_key_split_over_a_folded_yaml_scalar_is_refused_and_not_echoed(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"jobs:\n  calls:\n    inputs: [calls]\n    language: >\n      {KEY[:16]}\n      {KEY[16:]}\n"
    )
    code, output = invoke("plan", "--jobs", str(jobs))
    assert code == 2, output
    assert "looks like a Speech key" in output and KEY[:16] not in output and KEY[16:] not in output


def test_a_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    bomb = tmp_path / "jobs.yaml"
    bomb.write_text("\n".join([*lines, "jobs: *i"]) + "\n")
    started = time.monotonic()
    code, output = invoke("run", "--jobs", str(bomb))
    assert code == 2 and "expands to more than" in output, output
    assert time.monotonic() - started < 10  # the old walk grew to gigabytes


def test_an_unreadable_subfolder_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "ok.wav", 1)
    recording(root / "locked" / "hidden.wav", 2)
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":  # root reads any folder: refuse it the way EACCES does
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("batchscribe.planning.discovery.os.scandir", scandir)
    code, output = invoke("run", str(root), "--out", str(out), "--emulate", *FAST)
    assert code == 1, output
    (failure,) = last_summary(out)["failures"]
    assert failure["source"] == "locked" and "Permission denied" in failure["message"]
    assert (out / "ok.wav.json").is_file()


def test_overlapping_inputs_name_a_file_the_same_way_in_any_order(tmp_path: Path) -> None:
    top, out = tmp_path / "a", tmp_path / "out"
    recording(top / "x.wav", 1)
    recording(top / "sub" / "y.wav", 2)
    code, output = invoke("run", str(top), str(top / "sub"), "--out", str(out), "--emulate", *FAST)
    assert code == 0, output
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav.json"))
    code, output = invoke("run", str(top / "sub"), str(top), "--out", str(out), "--emulate", *FAST)
    assert code == 0, output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav.json")) == first
    assert "Nothing to do" in output


def _started(command: list[str], ready: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)  # fmt: skip
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if ready in line:
            break
    return process, lines


def test_sigterm_twice_in_quick_succession_exits_130(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    for seed in range(6):
        write_wav(root / f"r{seed}.wav", burst_samples(seed + 1, 4.0))
    command = [sys.executable, "-m", "batchscribe", "run", str(root), "--out", str(out), "--emulate",
               "--emulator-speed", "2", "--workers", "2"]  # fmt: skip
    process, lines = _started(command, " done ")
    process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    for line in process.stdout:  # the second one as the run winds down (summary, SDK shutdown)
        lines.append(line)
        if "Interrupted" in line:
            process.send_signal(signal.SIGTERM)
            break
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + rest
    assert "Traceback" not in rest


@pytest.mark.slow
def test_ctrl_c_while_planning_many_new_files_stops_within_seconds(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    samples = burst_samples(1, 0.05)
    for n in range(12_000):
        write_wav(root / f"d{n // 500:02d}" / f"r{n:05d}.wav", samples)
    command = [
        sys.executable,
        "-m",
        "batchscribe",
        "run",
        str(root),
        "--out",
        str(out),
        "--emulate",
        "--verbose",
    ]
    process = subprocess.Popen(
        command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:  # --verbose says when planning starts
        if "planning: looking for recordings" in line:
            break
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    took = time.monotonic() - interrupted
    assert process.returncode == 130, output
    assert took < 5, f"{took:.1f} s after Ctrl-C"
    summary = last_summary(out)
    assert summary["interrupted"] is True and summary["counts"]["succeeded"] < 100
    print(f"stopped {took:.2f} s after Ctrl-C while planning 12,000 new files", file=sys.stderr)
    json.dumps(summary)
