"""batchscribe writes and deletes only what it owns, and only inside --out (issue 12, point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from tests.cli.cli_process import FAST, last_summary, leftovers, recording

pytestmark = pytest.mark.integration


def run(root: Path, out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--emulate", *FAST])
    return result.exit_code, result.output


def test_the_users_tmp_files_in_out_are_kept_and_only_its_own_are_cleared(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    recording(root / "p" / "a.wav")
    (out / "p").mkdir(parents=True)
    (out / "notes").mkdir()
    users = [out / "p" / ".session.tmp", out / "p" / ".a.wav.json.tmp", out / "notes" / ".draft.tmp"]
    for path in users:
        path.write_text("the user's own")
    stale = out / "p" / ".batchscribe-0123456789ab.tmp"  # what a run killed mid-write leaves
    stale.write_text("half a transcript")

    code, output = run(root, out)

    assert code == 0, output
    assert all(p.read_text() == "the user's own" for p in users)
    assert not stale.exists() and (out / "p" / "a.wav.json").is_file()
    assert leftovers(out) == sorted(users)


def test_a_symlinked_folder_in_out_never_takes_outputs_outside_it(tmp_path: Path) -> None:
    root, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    recording(root / "sub" / "a.wav", 1)
    recording(root / "b.wav", 2)
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)

    code, output = run(root, out)

    assert code == 1, output
    assert list(elsewhere.iterdir()) == []
    (failure,) = last_summary(out)["failures"]
    assert failure["source"] == "sub/a.wav" and failure["code"] == "output_outside_out"
    assert "symbolic link" in failure["message"] and (out / "b.wav.json").is_file()
    assert "Traceback" not in output


def test_a_name_too_long_for_its_outputs_fails_that_file_in_one_line(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    long_name = "n" * 251 + ".wav"  # 255 bytes: the file exists, its .json (260 bytes) cannot
    recording(root / long_name, 1)
    recording(root / "short.wav", 2)

    code, output = run(root, out)

    assert code == 1, output
    (failure,) = last_summary(out)["failures"]
    assert failure["code"] == "name_too_long" and "shorten" in failure["hint"]
    assert "internal error" not in output and "Traceback" not in output
    assert sorted(p.name for p in out.iterdir()) == ["_runs", "_state", "short.wav.json", "short.wav.txt"]
