"""An unknown region is refused at once, the same way by run, plan and doctor (config/regions.py).

Before, ``run --region westeurop`` resolved DNS and retried for seconds before aborting (exit 3)
while ``doctor`` said "did you mean westeurope?".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli.app import app

TYPO = "'westeurop' is not an Azure region with the Speech service (did you mean westeurope?)"


@pytest.mark.parametrize("command", ["run", "plan", "doctor"])
def test_a_misspelt_region_is_refused_at_once_with_the_closest_name(command: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    args = [command, str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--region", "westeurop"]
    result = CliRunner().invoke(app, args, env={"SPEECH_KEY": "k" * 32})
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: --region: {TYPO}"
    assert not (tmp_path / "out").exists()  # nothing started


def test_a_misspelt_region_in_the_environment_or_a_resources_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    env = {"SPEECH_KEY": "k" * 32, "SPEECH_REGION": "westeurop", "AZURE_AI_SPEECH_REGION": ""}
    from_env = CliRunner().invoke(app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out")], env=env)
    assert from_env.exit_code == 2 and f"SPEECH_REGION: {TYPO}" in from_env.output

    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"jobs:\n  calls:\n    inputs: [{tmp_path / 'in'}]\n"
        "    resources: [{region: westeurope, key_env: K}, {region: westeurop, key_env: K}]\n"
    )
    listed = CliRunner().invoke(app, ["plan", "--jobs", str(jobs)], env={"K": "k" * 32})
    assert listed.exit_code == 2
    assert f"jobs.yaml:4: jobs.calls.resources: {TYPO}" in listed.output
    repeated = ["plan", str(tmp_path / "in"), "--region", "westeurope", "--region", "westeurop"]
    assert CliRunner().invoke(app, repeated, env={"SPEECH_KEY": "k"}).exit_code == 2


def test_known_regions_any_case_pass(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "in"), "--region", "WestEurope", "--json"])
    assert result.exit_code == 0, result.output
