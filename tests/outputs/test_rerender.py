"""Outputs rendered again from the JSON are the ones the transcript gave in the first place."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.outputs.azure_json import TranscriptMeta
from batchscribe.outputs.rerender import rerender_outputs
from batchscribe.outputs.writer import write_outputs

TRANSCRIPT = Transcript(
    phrases=(
        Phrase(5_000_000, 20_000_000, "Hello there.", "hello there", "hello there", "hello there", 0.91,
               (Word("hello", 5_000_000, 5_000_000, 0.9), Word("there", 11_000_000, 6_000_000, 0.8)),
               channel=0, speaker=1, locale="en-US"),
        Phrase(30_000_000, 15_000_000, "Guten Tag.", "guten tag", confidence=0.7, channel=1, speaker=2, locale="de-DE"),
    )
)  # fmt: skip


def test_missing_formats_are_rendered_from_the_json_exactly_as_first_written(tmp_path: Path) -> None:
    meta = TranscriptMeta(
        engine="emulator", endpoint="emulator", settings={}, sha256="0" * 64, attempts=1,
        started_at=datetime(2026, 11, 21, tzinfo=timezone.utc), elapsed_s=1.0, run_id="r",
    )  # fmt: skip
    audio = AudioInfo(codec="mp3", sample_rate=16000, channels=2, duration_s=5.0)
    formats = ("txt", "srt", "vtt", "json")
    first = write_outputs(out_dir=tmp_path / "a", source="x/call.mp3", formats=formats, transcript=TRANSCRIPT,
                          audio=audio, meta=meta, timestamps=True)  # fmt: skip
    (tmp_path / "b" / "x").mkdir(parents=True)
    (tmp_path / "b" / "x" / "call.mp3.json").write_bytes(first[-1].read_bytes())

    again = rerender_outputs(tmp_path / "b", "x/call.mp3", formats, timestamps=True)

    assert [p.name for p in again] == [p.name for p in first]
    for old, new in zip(first, again, strict=True):
        assert new.read_text() == old.read_text(), new.name
