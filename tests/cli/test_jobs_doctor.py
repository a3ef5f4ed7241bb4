"""A jobs file end to end, budgets, and `batchscribe doctor` against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.state.ledger import RunLock
from tests.conftest import KEY, Recordings

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]


def test_jobs_file_runs_each_job_into_its_own_folder(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    for seed in range(2):
        recordings.add(f"calls/c{seed}.wav", seed=seed)
        recordings.add(f"meetings/m{seed}.wav", seed=10 + seed)
    transcripts = recordings.save(tmp_path / "t.yaml")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"""
defaults:
  emulate: true
  emulator_transcripts: {transcripts}
  sdk_send_rate: 50
  formats: [json, srt]
jobs:
  calls:
    inputs: [recordings/calls]
    out: out/calls
  meetings:
    inputs: [recordings/meetings]
    out: out/meetings
    formats: [json, vtt]
""")
    result = cli.invoke(app, ["run", "--jobs", str(jobs)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out/calls").glob("*.wav.*")) == [
        "c0.wav.json",
        "c0.wav.srt",
        "c1.wav.json",
        "c1.wav.srt",
    ]
    assert sorted(p.name for p in (tmp_path / "out/meetings").glob("*.wav.*")) == [
        "m0.wav.json",
        "m0.wav.vtt",
        "m1.wav.json",
        "m1.wav.vtt",
    ]
    only = cli.invoke(app, ["run", "--jobs", str(jobs), "--job", "nope"])
    assert only.exit_code == 2 and "calls" in only.output and "meetings" in only.output


def test_options_given_with_jobs_apply_to_every_job_and_emulate_needs_no_key(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    recordings.add("calls/c0.wav", seed=1)
    recordings.add("meetings/m0.wav", seed=2)
    transcripts = recordings.save(tmp_path / "t.yaml")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "defaults:\n  region: westeurope\n  formats: [json]\njobs:\n"
        "  calls: {inputs: [recordings/calls], out: out/calls}\n"
        "  meetings: {inputs: [recordings/meetings], out: out/meetings}\n"
    )
    no_key = {"SPEECH_KEY": None, "AZURE_AI_SPEECH_KEY": None}
    args = ["--jobs", str(jobs), "--emulate", "--emulator-transcripts", str(transcripts), *FAST]

    result = cli.invoke(app, ["run", *args, "--formats", "json,srt"], env=no_key)

    assert result.exit_code == 0, result.output
    for job, name in (("calls", "c0.wav"), ("meetings", "m0.wav")):
        assert (tmp_path / "out" / job / f"{name}.srt").is_file()
        settings = json.loads(next((tmp_path / "out" / job / "_runs").glob("*/summary.json")).read_text())
        assert settings["settings"]["endpoint"] == "emulator"
    assert cli.invoke(app, ["plan", *args], env=no_key).exit_code == 0


def test_budget_stops_scheduling_and_the_summary_says_so(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    for seed, seconds in enumerate((6, 5, 4)):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=seconds)
    transcripts = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"
    result = cli.invoke(
        app,
        [
            "run",
            str(recordings.root),
            "--out",
            str(out),
            "--emulate",
            "--emulator-transcripts",
            str(transcripts),
            "--sdk-send-rate",
            "50",
            "--max-hours",
            str(10.5 / 3600),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    assert summary["counts"]["succeeded"] == 2 and summary["counts"]["not_scheduled"] == 1
    assert "budget" in summary["stop_reason"]


def test_doctor_passes_against_a_working_service_and_names_what_fails(
    cli: CliRunner, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    healthy = cli.invoke(app, ["doctor", "--emulate", "--out", str(out)])
    assert healthy.exit_code == 0, healthy.output
    assert [line.split()[0] for line in healthy.output.splitlines()] == [
        "ok"
    ] * 7  # the speech sdk line included

    refusing = emulator_for(faults=["http:401"])
    with RunLock(out).held():
        broken = cli.invoke(
            app, ["doctor", "--host", refusing.url, "--out", str(out)], env={"SPEECH_KEY": KEY}
        )
    assert broken.exit_code == 1, broken.output
    failed = [line for line in broken.output.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 2
    assert "endpoint" in failed[0] and "credentials" in failed[0]
    assert "lock" in failed[1] and "pid" in failed[1]
    assert KEY not in broken.output
