"""--max-cost with a long recording sent in chunks over several nights (issue 17, item 19).

Each night counts and reports what it sent: the chunks of a recording that is not finished yet
are audio transcribed (and paid for) that night, and the night that finishes the recording
counts only the chunks it sent, never the whole recording again. The real SDK against the
emulator; the budget stops scheduling between chunks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import RecognitionOptions
from batchscribe.report import latest_run_dir
from batchscribe.report.summary import headline
from batchscribe.report.writer import report_run
from batchscribe.running.run import run_batch
from tests.conftest import Recordings

pytestmark = pytest.mark.integration
PRICE_PER_HOUR = 360.0  # 0.10 per second of audio: easy to check
MAX_COST = 2.5  # 25 s of audio a night


def summary_of(out: Path) -> dict[str, Any]:
    folder = latest_run_dir(out)
    assert folder is not None
    return json.loads((folder / "summary.json").read_text())  # type: ignore[no-any-return]


def test_each_night_reports_and_limits_what_it_sent_in_chunks(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    recordings.add("long.wav", seed=11, seconds=60.0)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    # a container (--host) is billed, so the summary has a cost; the emulator itself would show none
    settings = RunSettings(
        inputs=(recordings.root,), out=out, endpoint=Endpoint(kind="host", key="k" * 32, url=emulator.url),
        options=RecognitionOptions(), workers=1, chunk_seconds=10.0, sdk_send_rate=50.0,
        max_cost=MAX_COST, price_per_hour=PRICE_PER_HOUR,
    )  # fmt: skip
    nights, summaries = [], []
    for _ in range(6):
        result = run_batch(settings, report=report_run)
        nights.append(result)
        summaries.append(summary_of(out))
        if result.succeeded_count:
            break

    assert [n.succeeded_count for n in nights][-1] == 1 and len(nights) >= 3
    sent = [n.audio_seconds for n in nights]
    assert all(0 < seconds <= MAX_COST / PRICE_PER_HOUR * 3600 for seconds in sent), sent
    assert sum(sent) == pytest.approx(60.0, abs=0.01)  # every chunk once, over all the nights
    for night, summary in zip(nights, summaries, strict=True):
        assert summary["audio_seconds"] == pytest.approx(night.audio_seconds, abs=0.01)
        assert 0 < summary["cost"]["estimated"] <= MAX_COST
    assert nights[0].stop_reason  # the budget stopped it
    first = headline(summaries[0])
    assert "Nothing to do" not in first and "sent in chunks" in first, first
    received = sum(s.audio_seconds for s in emulator.stats().sessions.values())
    assert received == pytest.approx(60.0, abs=1.0)  # nothing sent twice
