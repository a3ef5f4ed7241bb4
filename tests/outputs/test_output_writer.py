"""write_outputs: names mirror the input tree, every format written, the JSON last."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Phrase, Transcript
from batchscribe.errors import FileError
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.azure_json import TranscriptMeta, read_transcript_document
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.writer import write_outputs

AUDIO = AudioInfo(codec="mp3", sample_rate=44100, channels=1, duration_s=4.0)
TRANSCRIPT = Transcript(phrases=(Phrase(7_600_000, 25_800_000, "Hello, world.", speaker=1),))
META = TranscriptMeta(
    engine="emulator",
    endpoint="emulator",
    settings={"language": "en-US"},
    sha256="0" * 64,
    attempts=1,
    started_at=datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc),
    elapsed_s=1.5,
    run_id="20261121T020000Z-3f2a",
)
ALL = ("json", "txt", "srt", "vtt")


def write(out_dir: Path, source: str = "calls/a.mp3", formats: tuple[str, ...] = ALL) -> tuple[Path, ...]:
    return write_outputs(
        out_dir=out_dir,
        source=source,
        formats=formats,
        transcript=TRANSCRIPT,
        audio=AUDIO,
        meta=META,
        timestamps=True,
    )


def test_names_keep_the_source_extension_and_mirror_the_input_tree(tmp_path: Path) -> None:
    names = [p.relative_to(tmp_path).as_posix() for p in OutFolder(tmp_path).output_paths("calls/a.mp3", ALL)]
    assert names == ["calls/a.mp3.txt", "calls/a.mp3.srt", "calls/a.mp3.vtt", "calls/a.mp3.json"]
    assert OutFolder(tmp_path).output_paths("a.wav", ["json"]) == (tmp_path / "a.wav.json",)


def test_writes_every_format_and_returns_the_paths(tmp_path: Path) -> None:
    written = write(tmp_path)
    assert written == OutFolder(tmp_path).output_paths("calls/a.mp3", ALL)
    assert (tmp_path / "calls/a.mp3.txt").read_text(
        encoding="utf-8"
    ) == "[00:00:00] Speaker 1: Hello, world.\n"
    assert "00:00:00,760 --> 00:00:03,340" in (tmp_path / "calls/a.mp3.srt").read_text(encoding="utf-8")
    assert (tmp_path / "calls/a.mp3.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n")
    document = read_transcript_document(tmp_path / "calls/a.mp3.json")
    assert document["source"] == "calls/a.mp3"
    assert json.loads((tmp_path / "calls/a.mp3.json").read_text(encoding="utf-8")) == document


def test_json_is_written_last_whatever_order_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    monkeypatch.setattr("batchscribe.outputs.writer.write_atomic", lambda path, data: order.append(path.name))
    write(tmp_path, formats=("json", "vtt", "txt"))
    assert order == ["a.mp3.txt", "a.mp3.vtt", "a.mp3.json"]


def test_a_failure_part_way_leaves_none_of_the_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    def fail_on_vtt(path: Path, data: bytes | str) -> None:
        if path.suffix == ".vtt":
            raise OSError("disk trouble")
        write_atomic(path, data)

    monkeypatch.setattr("batchscribe.outputs.writer.write_atomic", fail_on_vtt)
    with pytest.raises(FileError, match="disk trouble"):
        write(tmp_path)
    assert list((tmp_path / "calls").iterdir()) == []  # the .txt and .srt written first are gone


def test_only_the_asked_formats_are_written(tmp_path: Path) -> None:
    assert write(tmp_path, "b.wav", ("txt", "txt")) == (tmp_path / "b.wav.txt",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.wav.txt"]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="docx"):
        OutFolder(tmp_path).output_paths("a.wav", ["json", "docx"])


@pytest.mark.parametrize("source", ["/etc/passwd", "../outside.wav", "calls/../../outside.wav", "", "."])
def test_a_source_that_would_escape_the_output_folder_is_refused(tmp_path: Path, source: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        OutFolder(tmp_path).output_paths(source, ["json"])
