"""One notion of "sessions at once" (``RunSettings.capacity``): plan predicts what run then does.

With two resources, ``plan`` sized chunks for one resource's sessions while ``run`` sized them for
both (and plan's own table showed both), and plan's wall estimate took a long recording as one
session although ``run`` splits it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator import Emulator
from batchscribe.emulator.synth import burst_samples, write_wav

pytestmark = pytest.mark.integration
MINUTES = 12


def test_plan_predicts_the_chunks_run_makes_over_two_resources(tmp_path: Path) -> None:
    write_wav(tmp_path / "in" / "meeting.wav", burst_samples(4, MINUTES * 60.0))
    out = tmp_path / "out"
    with Emulator() as first, Emulator() as second:
        options = [str(tmp_path / "in"), "--out", str(out), "--host", first.url, "--host", second.url,
                   "--workers", "2", "--sdk-send-rate", "50"]  # fmt: skip
        planned = CliRunner().invoke(app, ["plan", *options, "--json"], env={"SPEECH_KEY": ""})
        assert planned.exit_code == 0, planned.output
        (row,) = json.loads(planned.output)
        ran = CliRunner().invoke(app, ["run", *options], env={"SPEECH_KEY": ""}, catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    chunks = json.loads((out / "meeting.wav.json").read_text())["batchscribe"]["chunks"]
    assert row["sessions"] == 4  # two resources of two sessions
    assert (row["split"], row["chunks"]) == (1, len(chunks))
    assert len(chunks) == 12  # sized for 4 sessions (one minute each), not for 2
    # The wall estimate spreads the chunks over the 4 sessions at the SDK's send rate; the
    # recording taken whole would have been 12 minutes / 50 alone.
    assert row["wall_estimate_seconds"] == pytest.approx(MINUTES * 60 / 50 / 4, abs=0.2)


def test_the_wall_estimate_of_a_long_recording_counts_its_chunks(tmp_path: Path) -> None:
    write_wav(tmp_path / "in" / "long.wav", burst_samples(5, 20 * 60.0))
    planned = CliRunner().invoke(app, ["plan", str(tmp_path / "in"), "--emulate", "--json"])
    assert planned.exit_code == 0, planned.output
    (row,) = json.loads(planned.output)
    assert (row["sessions"], row["chunks"]) == (8, 20)
    assert row["wall_estimate_seconds"] == pytest.approx(20 * 60 / 2 / 8, abs=1)  # not 20 min / 2 in one
    unsplit = CliRunner().invoke(app, ["plan", str(tmp_path / "in"), "--emulate", "--json", "--split", "off"])
    assert json.loads(unsplit.output)[0]["wall_estimate_seconds"] == pytest.approx(20 * 60 / 2, abs=1)
