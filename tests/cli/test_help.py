"""--help reads as written, for every command including the emulator's, and agrees with the README."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from tests.test_docs import README

TYPER_SPEAK = re.compile(r"<(int|str|float|path|bool|list\[str\])>|\[default: \(|\{\w+\}")


def helped(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    "command", [("run",), ("plan",), ("doctor",), ("report",), ("emulator",), ("emulator", "script"),
                ("emulator", "script", "add")]
)  # fmt: skip
def test_no_help_shows_python_types_or_parenthesised_defaults(command: tuple[str, ...]) -> None:
    shown = helped(*command)
    assert not TYPER_SPEAK.search(shown), TYPER_SPEAK.search(shown)


def test_defaults_and_brackets_read_as_written() -> None:
    run = helped("run")
    assert "[default: transcripts]" in run and "(False)" not in run
    add = helped("emulator", "script", "add")
    assert "script add [OPTIONS] FILE" in add
    assert "'[speaker=Guest-2 language=fr-FR] Bonjour.'" in add


def test_run_help_and_readme_agree_on_the_default_outputs_and_quiet() -> None:
    run = " ".join(helped("run").split())
    assert "[default: json,txt]" in run
    assert "Writes JSON and text per recording (subtitles too with --formats json,txt,srt,vtt)" in run
    assert "Print only failures (nothing at all on a night where nothing failed)" in run
    readme = " ".join(README.split())
    assert "plain text (subtitles too with `--formats json,txt,srt,vtt`)" in readme
    assert "`--quiet` prints nothing on a night where nothing failed" in readme
