"""The planner's decisions, one table row per case; planning never changes anything on disk."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from batchscribe.audio import AudioInfo
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.fake import transcript_of
from batchscribe.outputs.azure_json import TranscriptMeta
from batchscribe.outputs.writer import write_outputs
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import decide, plan_run, sha256_of, transcript_settings
from batchscribe.planning.settle import settle, settled_before_ns
from batchscribe.state.ledger import LedgerRow, Sighting, settings_hash
from tests.conftest import burst_samples, write_wav

SETTINGS = RunSettings(inputs=(), out=Path("out"), endpoint=Endpoint(kind="emulator"))
WANTED = settings_hash(transcript_settings(SETTINGS))


def recording(tmp_path: Path, name: str = "a.wav", seed: int = 1) -> AudioFile:
    path = write_wav(tmp_path / "in" / name, burst_samples(seed, 1.0))
    st = path.stat()
    return AudioFile(
        path=path, source=name, size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns
    )


def transcribed(settings: RunSettings, file: AudioFile, *, hash_of: dict[str, object] | None = None) -> None:
    """The outputs a finished run leaves for ``file`` (JSON last)."""
    meta = TranscriptMeta(
        engine="fake", endpoint="emulator", settings=transcript_settings(settings) if hash_of is None else hash_of,
        sha256=sha256_of(file.path), attempts=1, started_at=datetime.now(timezone.utc), elapsed_s=1.0, run_id="r",
    )  # fmt: skip
    write_outputs(out_dir=settings.out, source=file.source, formats=settings.formats, transcript=transcript_of("hi"),
                  audio=AudioInfo("pcm_s16le", 16000, 1, 1.0), meta=meta, timestamps=False)  # fmt: skip


def row(file: AudioFile, **changes: object) -> LedgerRow:
    base = LedgerRow(
        file.source,
        file.size,
        file.mtime_ns,
        sha256_of(file.path),
        WANTED,
        "succeeded",
        1,
        "",
        (),
        ctime_ns=file.ctime_ns,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# (what is on disk and in the ledger, the decision, adopt?, restat?)
CASES = [
    ("new file", "new", False, False),
    ("unknown to the ledger, transcript on disk", "done", True, False),
    ("unknown to the ledger, transcript on disk, txt deleted", "rerender", True, False),
    ("unknown to the ledger, transcript of other settings", "new", False, False),
    ("unknown to the ledger, transcript on disk, --force", "new", False, False),
    ("failed before", "failed_before", False, False),
    ("cancelled before", "new", False, False),
    ("done with other settings", "changed", False, False),
    ("done", "done", False, False),
    ("done, touched: same content", "done", False, True),
    ("done, content changed", "changed", False, False),
    ("done, txt deleted", "rerender", False, False),
    ("done, JSON deleted", "outputs_missing", False, False),
    # The ctime (issue 17, item 17): a new one alone has the content hash decide.
    ("done, chmod-ed: a new ctime, same content", "done", False, True),
    ("done, rewritten in place: same size and mtime, new ctime", "changed", False, False),
    ("done, ctime unknown (an older state), same content", "done", False, True),
    ("failed permanently, chmod-ed: a new ctime, same content", "known_failure", False, True),
    ("failed permanently, rewritten in place: same size and mtime, new ctime", "failed_before", False, False),
]


@pytest.mark.parametrize(("case", "decision", "adopts", "restats"), CASES, ids=[c[0] for c in CASES])
def test_decide(tmp_path: Path, case: str, decision: str, adopts: bool, restats: bool) -> None:
    settings = replace(SETTINGS, out=tmp_path / "out", force="--force" in case)
    file = recording(tmp_path)
    ledger_row: LedgerRow | None = None
    if "transcript" in case:
        transcribed(settings, file, hash_of={"language": "xx"} if "other settings" in case else None)
    if "failed" in case:
        ledger_row = row(file, status="failed")
    if "cancelled" in case:
        ledger_row = row(file, status="cancelled")
    if case.startswith("done"):
        transcribed(settings, file)
        ledger_row = row(file, settings_hash="other" if "other settings" in case else WANTED)
    if "touched" in case:
        ledger_row = row(file, mtime_ns=file.mtime_ns - 10**9)
    if "content changed" in case:
        ledger_row = row(file, mtime_ns=file.mtime_ns - 10**9, sha256="0" * 64)
    if "permanently" in case and ledger_row is not None:
        ledger_row = replace(ledger_row, error_class="permanent")
    if "new ctime" in case and ledger_row is not None:
        ledger_row = replace(ledger_row, ctime_ns=file.ctime_ns - 1)
    if "rewritten in place" in case and ledger_row is not None:
        ledger_row = replace(ledger_row, sha256="0" * 64)
    if "ctime unknown" in case and ledger_row is not None:
        ledger_row = replace(ledger_row, ctime_ns=0)
    if "deleted" in case:
        (tmp_path / "out" / f"a.wav.{case.split()[-2].lower()}").unlink()
    before = sorted(p for p in tmp_path.rglob("*"))

    decided = decide(file, ledger_row, settings, WANTED)

    assert decided.decision == decision
    assert (decided.adopt is not None, decided.restat) == (adopts, restats)
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written, nothing removed


def test_plan_counts_what_is_due_and_changes_nothing(tmp_path: Path) -> None:
    settings = replace(SETTINGS, inputs=(tmp_path / "in",), out=tmp_path / "out", settle_seconds=60)
    new, done, failed, fresh = (recording(tmp_path, f"{n}.wav", seed) for seed, n in enumerate("abcd", 1))
    transcribed(settings, done)
    (tmp_path / "out" / "b.wav.txt").unlink()  # rendered again from the JSON: no audio sent
    an_hour_ago = datetime.now(timezone.utc).timestamp() - 3600
    for file in (new, done, failed):
        os.utime(file.path, (an_hour_ago, an_hour_ago))
    rows = {"c.wav": row(failed, status="failed")}
    snapshot = sorted(tmp_path.rglob("*"))

    plan = plan_run(settings, rows=rows)

    assert [i.source for i in plan.items] == ["a.wav", "c.wav"]
    assert [a.file.source for a in plan.adopt] == [f.source for f in plan.rerender] == ["b.wav"]
    counts = plan.counts
    assert (counts.new, counts.failed_before, counts.rerendered, counts.not_settled) == (1, 1, 1, 1)
    assert sorted(tmp_path.rglob("*")) == snapshot
    only_failed = plan_run(replace(settings, retry_failed_only=True), rows=rows)
    assert [i.source for i in only_failed.items] == ["c.wav"]
    forced = plan_run(replace(settings, force=True), rows=rows)
    assert [i.source for i in forced.items] == ["a.wav", "b.wav", "c.wav"] and not forced.adopt
    assert fresh.source not in {i.source for i in forced.items}


def test_a_modification_time_in_the_future_is_named_and_settles_once_unchanged_for_the_settle_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(SETTINGS, inputs=(tmp_path / "in",), out=tmp_path / "out", settle_seconds=60)
    path = recording(tmp_path, "future.wav").path
    next_year = datetime.now(timezone.utc).timestamp() + 365 * 86400
    os.utime(path, (next_year, next_year))  # `touch -d '+1 year'`: its change time is now
    changed_at = datetime.fromtimestamp(path.stat().st_ctime, timezone.utc)

    waiting = plan_run(settings, rows={}, now=changed_at + timedelta(seconds=30))
    assert waiting.items == [] and waiting.counts.not_settled == 1
    assert "future.wav: its modification time is in the future (20" in caplog.text
    assert "once it has not changed for 60 s" in caplog.text

    settled = plan_run(settings, rows={}, now=changed_at + timedelta(seconds=61))
    assert [i.source for i in settled.items] == ["future.wav"] and settled.counts.not_settled == 0
    without_settle = plan_run(
        replace(settings, settle_seconds=0), rows={}, now=changed_at + timedelta(seconds=1)
    )
    assert [i.source for i in without_settle.items] == ["future.wav"]


def test_times_all_in_the_future_settle_once_seen_unchanged_for_the_settle_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file system's clock ahead: mtime and ctime both in the future, so only the time since
    the file was first seen unchanged can tell; that sighting is what the ledger remembers."""
    settings = replace(SETTINGS, settle_seconds=60)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ahead = int((now + timedelta(days=1)).timestamp() * 1e9)
    file = replace(recording(tmp_path, "ahead.wav"), mtime_ns=ahead, ctime_ns=ahead)
    remembered: dict[str, Sighting] = {}

    def look(at: datetime, seen: AudioFile = file) -> bool:
        settling = settle(seen, settled_before_ns(settings, at), at, remembered.get)
        if settling.sighting is not None:
            remembered[seen.source] = settling.sighting
        return settling.settled

    assert not look(now)
    assert remembered["ahead.wav"].first_seen_ns == int(now.timestamp() * 1e9)
    assert "ahead.wav: its modification and change times are in the future (2026-01-02" in caplog.text
    assert "once seen unchanged for 60 s" in caplog.text
    assert not look(now + timedelta(seconds=59))  # the first sighting is kept, not renewed
    assert look(now + timedelta(seconds=60))
    assert look(now + timedelta(hours=1))  # its times still ahead: settled all the same

    rewritten = replace(file, size=file.size + 1, ctime_ns=ahead + 1)  # changed: seen anew
    assert not look(now + timedelta(hours=2), rewritten)
    assert not look(now + timedelta(hours=2, seconds=59), rewritten)
    assert look(now + timedelta(hours=2, seconds=60), rewritten)
    assert settle(
        file, settled_before_ns(replace(settings, settle_seconds=0), now), now, remembered.get
    ).settled
