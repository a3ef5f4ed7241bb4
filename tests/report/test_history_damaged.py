"""Old runs whose summary.json was damaged or edited by hand: ``report --history`` names each one
and shows the others; ``report`` on such a run says so in one line (exit 2), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from batchscribe.cli import app
from tests.report.test_history import nights


def damage(out: Path, run_ids: list[str]) -> tuple[str, str, str]:
    """Three ways a kept summary goes bad: bytes that are not UTF-8, JSON that is not a summary,
    and a number edited into a word."""
    cut, foreign, edited = run_ids
    (out / "_runs" / cut / "summary.json").write_bytes(b"\xff\xfe{")
    (out / "_runs" / foreign / "summary.json").write_text("[1, 2]")
    path = out / "_runs" / edited / "summary.json"
    summary = json.loads(path.read_text())
    summary["audio_seconds"] = "many"
    path.write_text(json.dumps(summary))
    return cut, foreign, edited


def test_history_names_each_unreadable_run_and_shows_the_others(tmp_path: Path) -> None:
    cut, edited, good = nights(tmp_path)
    (tmp_path / "_runs" / cut / "summary.json").write_bytes(b"\xff\xfe{")
    path = tmp_path / "_runs" / edited / "summary.json"
    path.write_text(path.read_text().replace('"failed": 1', '"failed": "many"', 1))
    cli = CliRunner()

    plain = cli.invoke(app, ["report", "--history", "--out", str(tmp_path)])
    as_json = cli.invoke(app, ["report", "--history", "--json", "--out", str(tmp_path)])

    assert plain.exit_code == 0, plain.output
    assert f"skipped run {cut}: cannot read the run summary" in plain.output
    assert f"skipped run {edited}: summary.json has a missing or wrong-typed value" in plain.output
    assert "2026-11-21 02:00" in plain.output  # the readable run is still shown
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert [r["run_id"] for r in document["runs"]] == [good]
    assert [s["run_id"] for s in document["skipped"]] == [cut, edited]


def test_history_with_only_unreadable_runs_names_them(tmp_path: Path) -> None:
    runs = nights(tmp_path)
    damage(tmp_path, runs)

    plain = CliRunner().invoke(app, ["report", "--history", "--out", str(tmp_path)])

    assert plain.exit_code == 2, plain.output
    assert "no runs found" in plain.output and all(run in plain.output for run in runs)


def test_report_on_a_hand_edited_summary_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    runs = nights(tmp_path)
    path = tmp_path / "_runs" / runs[-1] / "summary.json"
    summary = json.loads(path.read_text())
    summary["counts"]["failed"] = "many"
    summary["summaries"] = {"recordings": 5}
    path.write_text(json.dumps(summary))

    shown = CliRunner().invoke(app, ["report", "--out", str(tmp_path)])

    assert shown.exit_code == 2, shown.output
    assert "internal error" not in shown.output and "Traceback" not in shown.output
    assert f"cannot show the run summary {path}" in shown.output
