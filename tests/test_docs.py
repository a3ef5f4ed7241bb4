"""Docs that cannot drift: every command has help, appears in the README, and the README keeps
exactly its two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from batchscribe.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    runner = CliRunner()
    for name in commands():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert f"batchscribe {name}" in README, f"README does not show `batchscribe {name}`"


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    setup = README.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)\n```", setup, flags=re.DOTALL)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    install_and_run, test = blocks
    assert "batchscribe run" in install_and_run
    assert test == "bash .ci/run"
    assert (ROOT / ".ci" / "run").is_file()


def test_every_run_option_in_the_readme_exists() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    for option in set(re.findall(r"batchscribe run [^\n]*", README)):
        for flag in re.findall(r"(--[a-z-]+)", option):
            assert flag in result.output, f"README uses {flag}, which `run` does not have"
