"""A bad value of one quality threshold in a jobs file: one line naming that field and what it
must be (not the whole block's description), exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("{low_confidence: -1}", "quality.low_confidence: must be greater than or equal to 0, got -1"),
        ("{low_confidence: abc}", "quality.low_confidence: must be a valid number, got 'abc'"),
        ("{silent_gap_s: .nan}", "quality.silent_gap_s: must be a finite number, got nan"),
        ("{min_words_per_minute: true}", "quality.min_words_per_minute: must be a valid number, got true"),
    ],
)
def test_a_bad_threshold_is_one_line_naming_the_field(tmp_path: Path, value: str, said: str) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  n:\n    inputs: [{tmp_path}]\n    emulate: true\n    quality: {value}\n")

    result = CliRunner().invoke(app, ["plan", "--jobs", str(jobs)])

    assert result.exit_code == 2, result.output
    assert f"jobs.yaml:5: jobs.n.{said}" in result.output
    assert "mapping of quality thresholds" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
