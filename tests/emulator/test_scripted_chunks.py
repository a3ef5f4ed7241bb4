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


def stereo_call(folder: Path) -> Path:
    """A two-channel call: the agent on the left, the customer on the right, taking turns."""
    rng = np.random.default_rng(5)
    left, right = np.zeros(44 * RATE, dtype=np.int16), np.zeros(44 * RATE, dtype=np.int16)
    for k, start in enumerate(range(1, 38, 6)):  # agent 1-3 s, customer 4-6 s, agent 7-9 s, ...
        at, agent, customer = start * RATE, 1.5 + 0.1 * k, 1.2 + 0.2 * (k % 3)  # one utterance each
        left[at : at + int(agent * RATE)] = rng.normal(0, 6000, int(agent * RATE)).clip(-32000, 32000)
        at += 3 * RATE
        right[at : at + int(customer * RATE)] = rng.normal(0, 6000, int(customer * RATE)).clip(-32000, 32000)
    return write_wav(folder / "call.wav", np.stack([left, right], axis=1).reshape(-1), channels=2)


@pytest.mark.integration
def test_a_call_scripted_channel_by_channel_answers_both_channels_mixed_or_separate(tmp_path: Path) -> None:
    from batchscribe.cli.emulator import emulator_app

    call = stereo_call(tmp_path / "in")
    script = tmp_path / "t.yaml"
    agent = [f"[speaker=Guest-1 language=en-US] Agent line {k}." for k in range(7)]
    customer = [f"[speaker=Guest-2 language=fr-FR] Client ligne {k}." for k in range(7)]
    for channel, lines in ((0, agent), (1, customer)):
        phrases = [arg for line in lines for arg in ("--phrase", line)]
        added = CliRunner().invoke(
            emulator_app,
            ["script", "add", str(call), "--channel", str(channel), *phrases, "--transcripts", str(script)],
        )
        assert added.exit_code == 0, added.output
    said_by_agent = [f"Agent line {k}." for k in range(7)]
    said_by_customer = [f"Client ligne {k}." for k in range(7)]
    interleaved = [line for pair in zip(said_by_agent, said_by_customer, strict=True) for line in pair]

    def run(out: Path, *extra: str) -> list[dict[str, object]]:
        args = [
            "run",
            str(call.parent),
            "--out",
            str(out),
            "--emulate",
            "--emulator-transcripts",
            str(script),
        ]
        result = CliRunner().invoke(app, [*args, "--sdk-send-rate", "50", *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        document = json.loads((out / "call.wav.json").read_text())
        assert PLACEHOLDER_WARNING not in document["batchscribe"].get("warnings", [])
        return document["recognizedPhrases"]  # type: ignore[no-any-return]

    mixed = run(tmp_path / "mixed", "--diarize")
    assert [p["nBest"][0]["display"] for p in mixed] == interleaved  # type: ignore[index]
    assert [p["speaker"] for p in mixed] == [1, 2] * 7
    separate = run(tmp_path / "separate", "--channels", "separate", "--languages", "en-US,fr-FR")
    assert [(p["channel"], p["nBest"][0]["display"], p["locale"]) for p in separate] == [  # type: ignore[index]
        (k % 2, line, "en-US" if k % 2 == 0 else "fr-FR") for k, line in enumerate(interleaved)
    ]


def test_a_recording_that_is_mostly_silence_is_found_from_its_start() -> None:
    samples = np.zeros(75 * RATE, dtype=np.int16)  # a voicemail: 1.5 s of speech, then silence
    samples[int(0.3 * RATE) : int(1.8 * RATE)] = burst_samples(6, 1.5)
    transcripts, _ = scripted(samples, "voicemail.wav")
    floats = samples.astype(np.float32) / 32768
    match = transcripts.locate(fp.envelope_of(floats, RATE), ended_at=None)
    assert match is not None and match.entry.id == "voicemail.wav" and match.offset == 0.0
