"""Several Speech resources through the command line: a repeated --host, a jobs file's
``resources:`` list in ``plan``, and ``doctor`` probing each resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from tests.conftest import KEY, Recordings

pytestmark = pytest.mark.integration


def test_run_with_a_repeated_host_spreads_the_files_and_names_a_dead_resource(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    for seed in range(16):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=3.0)
    good = [emulator_for(recordings, key=KEY, max_sessions=2) for _ in range(2)]
    dead = emulator_for(recordings, faults=["http:503"])
    out = tmp_path / "out"
    hosts = [arg for url in (dead.url, good[0].url, good[1].url) for arg in ("--host", url)]

    result = cli.invoke(
        app, ["run", str(recordings.root), "--out", str(out), *hosts, "--workers", "2", "--sdk-send-rate", "4"],
        env={"SPEECH_KEY": KEY}, catch_exceptions=False,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert all(sum(r.sessions for r in g.stats().recordings.values()) >= 4 for g in good)
    assert "speech resources:" in result.output and f"host:{dead.url}" in result.output
    assert "server error" in result.output and KEY not in result.output
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    assert [r["name"] for r in summary["resources"]] == [f"host:{e.url}" for e in (dead, *good)]
    assert summary["settings"]["resources"] == [r["name"] for r in summary["resources"]]


def test_plan_shows_the_resources_and_the_nights_wall_time_from_their_capacity(
    cli: CliRunner, recordings: Recordings, tmp_path: Path
) -> None:
    for seed in range(8):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=6.0)
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"jobs:\n  calls:\n    inputs: [{recordings.root}]\n    out: {tmp_path / 'out'}\n"
        "    resources:\n"
        "      - {region: westeurope, key_env: WEU_KEY, max_sessions: 2, name: weu}\n"
        "      - {region: eastus, entra: true, resource_id: /subscriptions/s/x, max_sessions: 2}\n"
    )

    planned = cli.invoke(app, ["plan", "--jobs", str(jobs), "--json"], env={"WEU_KEY": None})
    one = cli.invoke(
        app, ["plan", str(recordings.root), "--out", str(tmp_path / "out"), "--workers", "2", "--json"]
    )

    assert planned.exit_code == 0, planned.output
    (row,) = json.loads(planned.output)
    assert (row["sessions"], row["resources"]) == (4, ["weu", "region:eastus"])
    assert row["wall_estimate_seconds"] == pytest.approx(8 * 6 / 2 / 4, abs=0.2)  # 2x real time, 4 at once
    (single,) = json.loads(one.output)
    assert single["wall_estimate_seconds"] == pytest.approx(2 * row["wall_estimate_seconds"], abs=0.2)
    table = cli.invoke(app, ["plan", "--jobs", str(jobs)], env={"WEU_KEY": None})
    assert "resources of calls: weu (2 sessions), region:eastus (2 sessions)" in table.output


def test_doctor_probes_each_resource(cli: CliRunner, tmp_path: Path, emulator_for: Any) -> None:
    good = emulator_for(key=KEY)
    strict = emulator_for(key="another-key-entirely")
    args = ["doctor", "--out", str(tmp_path / "out"), "--host", good.url, "--host", strict.url]

    result = cli.invoke(app, args, env={"SPEECH_KEY": KEY})

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("ok") and f"host:{good.url} answered" in line for line in lines), result.output
    assert any(
        line.startswith("FAIL") and f"host:{strict.url}: the key was rejected" in line for line in lines
    ), result.output
