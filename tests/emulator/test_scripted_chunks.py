"""A recording scripted once is answered from its script whatever stretch of it a session sends.

``run`` splits a long recording into chunks, each a session of its own that starts somewhere in
the recording; the emulator must find the recording and the place (scripts.Transcripts.locate)
and say the phrases of that stretch at their times in it. Before, a scripted 20-minute recording
got the whole script crammed into its first chunk and placeholder text in the other chunks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.emulator import Emulator, ScriptPhrase, Transcripts
from batchscribe.emulator import fingerprint as fp
from batchscribe.emulator.answers import Answerer
from batchscribe.emulator.scripts import make_entry
from batchscribe.emulator.segmenter import find_segments
from batchscribe.emulator.synth import RATE, burst_samples, write_wav
from batchscribe.outputs.quality import PLACEHOLDER_WARNING

TICKS = 10_000_000
SPEAKERS = ("Guest-1", "Guest-2", "Guest-3")
LANGUAGES = ("en-US", "de-DE")


def scripted(samples: np.ndarray, name: str) -> tuple[Transcripts, list[ScriptPhrase]]:
    """A script of the whole recording: one phrase per burst, each with its speaker and language."""
    floats = samples.astype(np.float32) / 32768
    phrases = [
        ScriptPhrase(
            f"Phrase {k} at {start:.2f}.", start, end, speaker=SPEAKERS[k % 3], language=LANGUAGES[k % 5 == 4]
        )
        for k, (start, end) in enumerate(find_segments(floats, RATE))
    ]
    entry = make_entry(entry_id=name, source=name, samples=floats, sample_rate=RATE, phrases=phrases)
    return Transcripts((entry,)), phrases


def test_any_stretch_of_a_long_scripted_recording_is_found_with_its_place() -> None:
    samples = burst_samples(7, 1200.0)
    transcripts, _ = scripted(samples, "long.wav")
    floats = samples.astype(np.float32) / 32768
    for start in (0.0, 61.2345, 333.333, 599.99, 1100.5, 1190.0):
        at = round(start * RATE)
        live = fp.envelope_of(floats[at : at + 6 * RATE], RATE)
        match = transcripts.locate(live, ended_at=None)
        assert match is not None and match.entry.id == "long.wav", start
        assert match.offset == pytest.approx(start, abs=0.025)
    other = burst_samples(8, 6.0).astype(np.float32) / 32768  # unscripted sound is not found
    assert transcripts.locate(fp.envelope_of(other, RATE), ended_at=None) is None
    silence = np.zeros(6 * RATE, dtype=np.float32)  # nor silence, which fits any pause
    assert transcripts.locate(fp.envelope_of(silence, RATE), ended_at=None) is None


def test_a_chunk_answers_its_own_phrases_at_chunk_times_and_nothing_past_its_end() -> None:
    samples = burst_samples(3, 120.0)
    transcripts, phrases = scripted(samples, "call.wav")
    chunk_start, chunk_end = 40.0, 80.0
    answers = Answerer("call.wav", transcripts.entries[0], offset=chunk_start)
    inside = [p for p in phrases if chunk_start <= p.start < chunk_end]  # type: ignore[operator]
    said = []
    lower = 0.0
    for phrase in inside:
        start, end = phrase.start - chunk_start, phrase.end - chunk_start  # type: ignore[operator]
        answer = answers.final(lower, start, end, last=phrase is inside[-1])
        assert answer is not None
        said.append((answer.text, answer.speaker, answer.language))
        lower = end
    assert said == [(p.text, p.speaker, p.language) for p in inside]


@pytest.mark.integration
def test_a_scripted_20_minute_recording_split_into_chunks_comes_back_as_scripted(tmp_path: Path) -> None:
    samples = burst_samples(11, 1200.0)
    path = write_wav(tmp_path / "in" / "meeting.wav", samples)
    transcripts, phrases = scripted(samples, "meeting.wav")
    out = tmp_path / "out"
    with Emulator(transcripts=transcripts) as emulator:
        result = CliRunner().invoke(
            app,
            ["run", str(path.parent), "--out", str(out), "--host", emulator.url, "--sdk-send-rate", "50",
             "--workers", "8", "--languages", "en-US,de-DE"],
            catch_exceptions=False,
        )  # fmt: skip
        recordings = set(emulator.stats().recordings)
    assert result.exit_code == 0, result.output
    assert "placeholder" not in result.output
    document = json.loads((out / "meeting.wav.json").read_text())
    assert PLACEHOLDER_WARNING not in document["batchscribe"].get("warnings", [])
    assert len(document["batchscribe"]["chunks"]) >= 10  # it was really split
    assert recordings == {"meeting.wav"}  # every chunk's session found the one script
    got = document["recognizedPhrases"]
    # Every scripted phrase once, in order; the emulator's segmenter may join two bursts that a
    # short pause separates into one recognized phrase (as the service may), so the check goes by
    # the script phrases each recognized phrase holds.
    assert " ".join(p["nBest"][0]["display"] for p in got) == " ".join(p.text for p in phrases)
    assert len(got) >= 0.98 * len(phrases)
    by_text = {p.text: p for p in phrases}
    for phrase in got:
        first = by_text[phrase["nBest"][0]["display"].split(". ")[0].rstrip(".") + "."]
        assert phrase["offsetInTicks"] / TICKS == pytest.approx(first.start, abs=0.05), first.text
        assert phrase["locale"] == first.language
