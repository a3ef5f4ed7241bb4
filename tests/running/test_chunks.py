"""Long recordings as chunks, end to end: the CLI, the real Speech SDK, the emulator.

The recording is a row of tone bursts of different lengths, each scripted as its own phrase; the
emulator knows each chunk (found by the sound of its first seconds) and says the phrases of the
bursts in it. What comes back must be every burst's phrase once, in order, at the burst's offset
in the file, through several chunks and the emulator's turn ends.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batchscribe import audio
from batchscribe.audio.chunk_plan import plan_chunks
from batchscribe.audio.silence import find_cuts
from batchscribe.cli import app
from batchscribe.emulator import Emulator, ScriptPhrase, Transcripts
from batchscribe.emulator.faults import parse_recording_fault
from batchscribe.emulator.scripts import make_entry
from batchscribe.emulator.segmenter import find_segments
from batchscribe.emulator.synth import write_wav
from tests.emulator.helpers import tone_pcm

pytestmark = pytest.mark.integration
RATE = 16_000
TICKS = 10_000_000
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scripted:
    path: Path
    transcripts: Transcripts
    bursts: list[tuple[float, float, str]]  # start, end (s), phrase
    chunks: list[tuple[float, float]]  # start, end (s)


def scripted_recording(folder: Path, *, bursts: int, chunk_seconds: float, workers: int,
                       faults: dict[int, list[str]] | None = None,
                       language_of: Callable[[int], str | None] = lambda k: None) -> Scripted:  # fmt: skip
    """Tone bursts of varied lengths, and an emulator script of each chunk batchscribe will cut."""
    pattern: list[tuple[str, float]] = [("sil", 0.5)]
    spans, at = [], 0.5
    languages: list[str | None] = []
    for k in range(bursts):
        tone, pause = 1.0 + 0.3 * (k % 4), 1.0 + 0.25 * (k % 3)
        pattern += [("tone", tone), ("sil", pause)]
        spans.append((at, at + tone, f"Burst {k} says word{k}."))
        languages.append(language_of(k))
        at += tone + pause
    samples = (np.clip(tone_pcm(pattern), -1, 1) * 32767).astype(np.int16)
    path = write_wav(folder / "meeting.wav", samples)
    duration = audio.probe(path).duration_s
    plan = plan_chunks(duration, workers=workers, total_audio_seconds=duration, chunk_seconds=chunk_seconds)
    cuts = [c.sample for c in find_cuts([samples.tobytes()], plan.chunk_seconds,
                                        window_seconds=plan.window_seconds, max_cuts=plan.chunks - 1)]  # fmt: skip
    edges = [0, *cuts, samples.size]
    transcripts = Transcripts()
    chunks = []
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        floats = samples[start:end].astype(np.float32) / 32768
        inside = [
            (s, lang) for s, lang in zip(spans, languages, strict=True) if start / RATE <= s[0] < end / RATE
        ]
        segments = find_segments(floats, RATE)
        assert len(segments) == len(inside), "each burst must be one segment of its chunk"
        phrases = [ScriptPhrase(text=t, start=a, end=b, language=lang)
                   for ((_, _, t), lang), (a, b) in zip(inside, segments, strict=True)]  # fmt: skip
        transcripts = transcripts.with_entry(make_entry(
            entry_id=f"chunk{index}", source=f"chunk{index}", samples=floats, sample_rate=RATE, phrases=phrases,
            faults=[parse_recording_fault(f) for f in (faults or {}).get(index, [])],
        ))  # fmt: skip
        chunks.append((start / RATE, end / RATE))
    assert len(chunks) >= 3
    return Scripted(path, transcripts, spans, chunks)


def run_cli(*args: str) -> object:
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def check_transcript(document: dict[str, object], scripted: Scripted) -> None:
    phrases = document["recognizedPhrases"]
    assert isinstance(phrases, list)
    assert [p["nBest"][0]["display"] for p in phrases] == [t for _, _, t in scripted.bursts]
    for phrase, (start, end, _) in zip(phrases, scripted.bursts, strict=True):
        assert phrase["offsetInTicks"] / TICKS == pytest.approx(start, abs=0.05)
        ends = (phrase["offsetInTicks"] + phrase["durationInTicks"]) / TICKS
        chunk_end = next(b for a, b in scripted.chunks if a <= start < b)
        # The emulator gives a phrase still open at the end of the audio the rest of it (its
        # turns.py), so the last phrase of a chunk may run on to the chunk's end, never past it.
        assert ends == pytest.approx(end, abs=0.05) or end < ends <= chunk_end + 1e-6
    offsets = [p["offsetInTicks"] for p in phrases]
    assert offsets == sorted(offsets)


def test_chunks_come_back_as_one_transcript_every_word_once_at_its_offset(tmp_path: Path) -> None:
    scripted = scripted_recording(tmp_path / "in", bursts=24, chunk_seconds=20, workers=4)
    out = tmp_path / "out"
    with Emulator(transcripts=scripted.transcripts, turn_seconds=8.0) as emu:
        result = run_cli(str(tmp_path / "in"), "--out", str(out), "--host", emu.url, "--sdk-send-rate", "50",
                         "--chunk-seconds", "20", "--workers", "4")  # fmt: skip
        stats = emu.stats()
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    logged = [line for line in result.output.splitlines() if "meeting.wav" in line]  # type: ignore[attr-defined]
    assert len([line for line in logged if " done " in line]) == 1, logged  # one line for the file
    assert not [line for line in logged if "chunk" in line.lower()], logged
    document = json.loads((out / "meeting.wav.json").read_text())
    check_transcript(document, scripted)
    recorded = document["batchscribe"]["chunks"]
    assert [(c["start_s"], c["end_s"]) for c in recorded] == [
        (pytest.approx(a, abs=0.001), pytest.approx(b, abs=0.001)) for a, b in scripted.chunks
    ]
    assert [c["attempts"] for c in recorded] == [1] * len(scripted.chunks)
    assert document["durationInTicks"] == round(scripted.chunks[-1][1] * TICKS)
    sessions = {s.recording: s for s in stats.sessions.values()}
    assert sorted(sessions) == [f"chunk{i}" for i in range(len(scripted.chunks))]
    assert all(s.limited_turns >= 1 for s in sessions.values()), "every chunk crosses a turn end"
    assert not (out / "_state" / "chunks").exists() or not any((out / "_state" / "chunks").iterdir())


def test_language_identification_works_per_chunk_and_comes_back_in_file_time(tmp_path: Path) -> None:
    def language_of(k: int) -> str:
        return "de-DE" if k % 3 == 2 else "en-US"

    scripted = scripted_recording(
        tmp_path / "in", bursts=12, chunk_seconds=12, workers=4, language_of=language_of
    )
    out = tmp_path / "out"
    with Emulator(transcripts=scripted.transcripts) as emu:
        result = run_cli(str(tmp_path / "in"), "--out", str(out), "--host", emu.url, "--sdk-send-rate", "50",
                         "--chunk-seconds", "12", "--workers", "4", "--languages", "en-US,de-DE")  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    document = json.loads((out / "meeting.wav.json").read_text())
    check_transcript(document, scripted)
    assert len(document["batchscribe"]["chunks"]) >= 3
    assert [p["locale"] for p in document["recognizedPhrases"]] == [language_of(k) for k in range(12)]


def test_a_chunk_failing_transiently_is_redone_alone(tmp_path: Path) -> None:
    scripted = scripted_recording(tmp_path / "in", bursts=18, chunk_seconds=16, workers=4,
                                  faults={1: ["close:1011:sessions=1"]})  # fmt: skip
    out = tmp_path / "out"
    with Emulator(transcripts=scripted.transcripts, turn_seconds=8.0) as emu:
        result = run_cli(str(tmp_path / "in"), "--out", str(out), "--host", emu.url, "--sdk-send-rate", "50",
                         "--chunk-seconds", "16", "--workers", "4")  # fmt: skip
        stats = emu.stats()
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    document = json.loads((out / "meeting.wav.json").read_text())
    check_transcript(document, scripted)
    assert [c["attempts"] for c in document["batchscribe"]["chunks"]] == [1, 2] + [1] * (
        len(scripted.chunks) - 2
    )
    assert {name: r.sessions for name, r in stats.recordings.items()} == {
        f"chunk{i}": 2 if i == 1 else 1 for i in range(len(scripted.chunks))
    }
    (report,) = (out / "_runs").glob("*/report.html")  # the timeline says which chunk each bar is
    page = report.read_text(encoding="utf-8")
    titles = [t for t in page.split("<title>") if t.startswith("meeting.wav, chunk ")]
    assert len(titles) == len(scripted.chunks) + 1
    assert sum(t.startswith("meeting.wav, chunk 2: retried") for t in titles) == 1
    assert sum(t.startswith("meeting.wav, chunk 2: succeeded") for t in titles) == 1


def test_after_kill_9_mid_recording_only_unfinished_chunks_are_sent(tmp_path: Path) -> None:
    scripted = scripted_recording(tmp_path / "in", bursts=20, chunk_seconds=12, workers=1)
    out = tmp_path / "out"
    args = [str(tmp_path / "in"), "--out", str(out), "--sdk-send-rate", "50", "--chunk-seconds", "12",
            "--workers", "1", "--quiet"]  # fmt: skip
    with Emulator(transcripts=scripted.transcripts, speed=4.0) as first:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-m", "batchscribe", "run", *args, "--host", first.url],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            # One worker: a third session means two chunks were saved before it started.
            assert first.wait_until(lambda s: len(s.sessions) >= 3, timeout=60)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        before = first.stats()
    assert not (out / "meeting.wav.json").exists()
    saved = sorted(p.name for p in (out / "_state" / "chunks").glob("*/mix.*.json"))
    assert 2 <= len(saved) < len(scripted.chunks)
    saved_chunks = {f"chunk{int(name.split('.')[1])}" for name in saved}
    assert saved_chunks <= {s.recording for s in before.sessions.values()}

    with Emulator(transcripts=scripted.transcripts) as second:
        result = run_cli(*args, "--host", second.url)
        after = second.stats()
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    check_transcript(json.loads((out / "meeting.wav.json").read_text()), scripted)
    sent = sorted(s.recording or "" for s in after.sessions.values())
    assert sent == sorted({f"chunk{i}" for i in range(len(scripted.chunks))} - saved_chunks)
