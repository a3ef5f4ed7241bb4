"""How the process ends: every command's errors pass one catch (one line, the error's exit code),
the emulator's commands too; an unexpected exception is one line and exit 3; Ctrl-C is 130."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli.app import app
from batchscribe.cli.emulator import emulator_app
from batchscribe.cli.exits import run_main
from batchscribe.errors import EXIT_INTERRUPTED


def test_the_emulator_commands_show_names_safely_in_their_one_line(tmp_path: Path) -> None:
    hostile = tmp_path / "faults\x1b[31mred.txt"  # does not exist: an escape sequence in the error
    for runner_app, args in ((emulator_app, []), (app, ["emulator"])):
        result = CliRunner().invoke(runner_app, [*args, "--faults-file", str(hostile)])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: cannot read faults file ")
        assert "\x1b" not in result.output and len(result.output.strip().splitlines()) == 1


def test_an_unexpected_exception_is_one_line_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(run: str | None, out: Path) -> Path:
        raise RuntimeError("boom")

    app_module = importlib.import_module(
        "batchscribe.cli.app"
    )  # the module: the package's `app` is the Typer
    monkeypatch.setattr(app_module, "_find_run", broken)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert result.output.strip() == (
        "internal error: RuntimeError('boom') (run again with --verbose and report it)"
    )


def test_ctrl_c_outside_a_run_ends_with_130() -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as leaving:
        run_main(interrupted)
    assert leaving.value.code == EXIT_INTERRUPTED
