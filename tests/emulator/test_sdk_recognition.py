"""The real Speech SDK recognizes recordings end to end against the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from batchscribe.cli.emulator import emulator_app
from batchscribe.emulator import Emulator, ScriptPhrase, Transcripts
from batchscribe.emulator.scripts import make_entry
from tests.emulator.helpers import RATE, pcm_bytes, run_sdk, tone_pcm, write_wav

pytestmark = pytest.mark.integration

PATTERN = [("sil", 0.5), ("tone", 2), ("sil", 1), ("noise", 3), ("sil", 0.7), ("tone", 1.5), ("sil", 0.4)]
PATTERN_S = sum(s for _, s in PATTERN)
TICKS = 10_000_000


def script_add(transcripts: Path, wav: Path, *args: str) -> None:
    result = CliRunner().invoke(
        emulator_app, ["script", "add", str(wav), "--transcripts", str(transcripts), *args]
    )
    assert result.exit_code == 0, result.output


def test_a_wav_file_fires_every_event_and_every_byte_is_acknowledged(
    emulator: Emulator, make_wav: Callable[..., Path]
) -> None:
    run = run_sdk(emulator.url, make_wav([*PATTERN, ("sil", 1.0)]))
    assert not run.errors
    assert run.events[0] == "session_started" and run.events[1] == "speech_start_detected"
    assert run.events[-3:] == ["speech_end_detected", "canceled", "session_stopped"]
    assert (run.cancel_reason, run.cancel_code, run.cancel_details) == ("EndOfStream", "NoError", "")
    assert [r.reason for r in run.recognized] == ["RecognizedSpeech"] * 3 + ["NoMatch"]
    assert len(run.recognizing) >= 4
    spans = [(r.offset / TICKS, (r.offset + r.duration) / TICKS) for r in run.recognized]
    assert [t for span in spans[:3] for t in span] == pytest.approx([0.5, 2.5, 3.5, 6.5, 7.2, 8.7], abs=0.03)
    assert spans[-1] == pytest.approx((8.7, PATTERN_S + 1), abs=0.03)  # silent tail: NoMatch
    (session,) = emulator.stats().sessions.values()
    assert (session.turns, session.completed_turns, session.connections) == (1, 1, 1)
    assert session.audio_seconds == pytest.approx(PATTERN_S + 1, abs=0.01)
    assert session.replayed_seconds == pytest.approx(0, abs=0.001)


def test_scripted_text_comes_back_exactly_whatever_the_file_is_called(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    wav = make_wav(PATTERN, name="original.wav")
    transcripts = tmp_path / "t.yaml"
    text = "Good morning, everyone. Let's begin with the figures for March; they look good."
    script_add(transcripts, wav, "--text", text, "--id", "meeting")
    renamed = wav.rename(tmp_path / "copy-with-another-name.wav")
    with Emulator(transcripts=transcripts) as emu:
        run = run_sdk(emu.url, renamed)
        assert " ".join(run.texts) == text and len(run.texts) == 3
        assert emu.stats().recordings["meeting"].sessions == 1


def test_phrases_land_on_their_segments_and_empty_segments_are_no_match(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    wav = make_wav(PATTERN)
    transcripts = tmp_path / "t.yaml"
    script_add(transcripts, wav, "--phrase", "First.", "--phrase", "Third.")
    with Emulator(transcripts=transcripts) as emu:
        run = run_sdk(emu.url, wav)
    assert [(r.reason, r.text) for r in run.recognized] == [
        ("RecognizedSpeech", "First."),
        ("NoMatch", ""),
        ("RecognizedSpeech", "Third."),
    ]
    # a short silent tail goes with the last phrase
    assert run.recognized[-1].offset + run.recognized[-1].duration == round(PATTERN_S * TICKS)


def test_an_8_khz_copy_is_answered_from_the_16_khz_script(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    transcripts = tmp_path / "t.yaml"
    script_add(transcripts, make_wav(PATTERN), "--text", "Narrow band works too.")
    with Emulator(transcripts=transcripts) as emu:
        run = run_sdk(emu.url, make_wav(PATTERN, rate=8_000))
        assert " ".join(run.texts) == "Narrow band works too."
        request = emu.stats().requests[-1]
        assert request.config is not None
        assert request.config["context"]["audio"]["source"]["samplerate"] == "8000"


def encode_mp3(path: Path, samples: np.ndarray, rate: int = 22_050) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        resampled = np.interp(
            np.arange(int(samples.size * rate / RATE)) * RATE / rate, np.arange(samples.size), samples
        )
        frame = av.AudioFrame.from_ndarray(
            (resampled * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_a_script_made_from_an_mp3_answers_its_decoded_audio_and_the_wav(tmp_path: Path) -> None:
    from batchscribe.audio import open_pcm

    samples = tone_pcm(PATTERN)
    mp3 = encode_mp3(tmp_path / "talk.mp3", samples)
    transcripts = tmp_path / "t.yaml"
    script_add(transcripts, mp3, "--text", "Compressed audio is found by its sound.")
    with open_pcm(mp3) as reader:
        decoded = reader.read(1 << 24)

    def push(config: Any) -> Any:
        import azure.cognitiveservices.speech as speechsdk

        stream = speechsdk.audio.PushAudioInputStream()
        stream.write(decoded)
        stream.close()
        return speechsdk.audio.AudioConfig(stream=stream)

    with Emulator(transcripts=transcripts) as emu:
        assert " ".join(run_sdk(emu.url, push).texts) == "Compressed audio is found by its sound."
        wav = write_wav(tmp_path / "talk.wav", samples)
        assert " ".join(run_sdk(emu.url, wav).texts) == "Compressed audio is found by its sound."
        assert emu.stats().recordings["talk.mp3"].sessions == 2


def test_push_and_pull_streams_run_to_completion(emulator: Emulator) -> None:
    import azure.cognitiveservices.speech as speechsdk

    data = pcm_bytes(tone_pcm(PATTERN))

    def push(config: Any) -> Any:
        stream = speechsdk.audio.PushAudioInputStream()
        for start in range(0, len(data), 6400):
            stream.write(data[start : start + 6400])
        stream.close()
        return speechsdk.audio.AudioConfig(stream=stream)

    class Reader(speechsdk.audio.PullAudioInputStreamCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.position = 0

        def read(self, buffer: memoryview) -> int:
            chunk = data[self.position : self.position + buffer.nbytes]
            buffer[: len(chunk)] = chunk
            self.position += len(chunk)
            return len(chunk)

    def pull(config: Any) -> Any:
        return speechsdk.audio.AudioConfig(stream=speechsdk.audio.PullAudioInputStream(Reader()))

    for audio in (push, pull):
        run = run_sdk(emulator.url, audio)
        assert not run.errors and run.cancel_reason == "EndOfStream" and len(run.texts) == 3
    for session in emulator.stats().sessions.values():
        assert session.audio_seconds == pytest.approx(PATTERN_S, abs=0.01)
        assert session.turns == 1


def test_detailed_output_has_nbest_and_words_inside_the_phrase_and_audio(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    wav = make_wav(PATTERN)
    transcripts = tmp_path / "t.yaml"
    script_add(
        transcripts, wav, "--phrase", "Hello there.", "--phrase", "Twenty five apples.", "--phrase", "Bye!"
    )
    with Emulator(transcripts=transcripts) as emu:
        run = run_sdk(emu.url, wav, detailed=True)
    phrases = [r for r in run.recognized if r.reason == "RecognizedSpeech"]
    assert [p.text for p in phrases] == ["Hello there.", "Twenty five apples.", "Bye!"]
    for phrase in phrases:
        (best,) = phrase.json["NBest"]
        assert best["Display"] == phrase.text and 0 < best["Confidence"] <= 1
        assert best["Lexical"] == phrase.text.lower().strip(".!")
        assert {"ITN", "MaskedITN"} <= best.keys()
        words = best["Words"]
        assert [w["Word"] for w in words] == best["Lexical"].split()
        for word in words:
            assert phrase.offset <= word["Offset"] and word["Duration"] > 0
            assert word["Offset"] + word["Duration"] <= phrase.offset + phrase.duration
            assert word["Offset"] + word["Duration"] <= PATTERN_S * TICKS
    assert emu.stats().requests[-1].query["wordLevelTimestamps"] == "true"


@pytest.mark.slow
def test_a_ten_minute_recording_finishes_in_order_without_replay(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    pattern = [("sil", 0.5)] + [("tone", 4.0), ("sil", 1.0)] * 120
    wav = make_wav(pattern)
    transcripts = tmp_path / "t.yaml"
    phrases = [f"Phrase number {n}." for n in range(120)]
    script_add(transcripts, wav, *[arg for p in phrases for arg in ("--phrase", p)])
    with Emulator(transcripts=transcripts) as emu:
        run = run_sdk(emu.url, wav, timeout=60)
        (session,) = emu.stats().sessions.values()
    assert not run.errors and run.cancel_reason == "EndOfStream"
    assert run.texts == phrases
    offsets = [r.offset for r in run.recognized]
    assert offsets == sorted(offsets) and offsets[-1] < 600.5 * TICKS
    assert session.audio_seconds == pytest.approx(600.5, abs=0.05)
    assert session.replayed_seconds < 0.01
    assert list(session.turn_offsets) == sorted(set(session.turn_offsets))  # follow-on turns only
    assert session.limited_turns == 1 and session.turn_offsets[1] == pytest.approx(600.0)  # at 600 s


@pytest.mark.slow
def test_32_concurrent_sessions_all_finish(emulator: Emulator, make_wav: Callable[..., Path]) -> None:
    wavs = [
        make_wav([("sil", 0.3), ("tone", 1.5), ("sil", 0.5), ("noise", 1.0), ("sil", 0.5)], seed=n)
        for n in range(32)
    ]
    with ThreadPoolExecutor(32) as pool:
        runs = list(pool.map(lambda wav: run_sdk(emulator.url, wav, timeout=60), wavs))
    assert all(not r.errors and r.cancel_reason == "EndOfStream" and len(r.texts) == 2 for r in runs)
    stats = emulator.stats()
    assert len(stats.sessions) == 32 and sum(s.completed_turns for s in stats.sessions.values()) == 32


def test_same_audio_gets_the_same_placeholder_text(emulator: Emulator, make_wav: Callable[..., Path]) -> None:
    first, again = make_wav(PATTERN), make_wav(PATTERN)
    other = make_wav([("tone", 1), *PATTERN])  # the fingerprint hears levels, not pitch
    texts = [run_sdk(emulator.url, wav).texts for wav in (first, again, other)]
    assert texts[0] == texts[1] and len(texts[0]) == 3 and texts[2] != texts[0]


def test_language_identification_returns_each_phrases_language(tmp_path: Path) -> None:
    samples = tone_pcm(PATTERN)
    wav = write_wav(tmp_path / "two-languages.wav", samples)
    entry = make_entry(
        entry_id="bilingual",
        source=wav.name,
        samples=samples.astype(np.float32),
        sample_rate=RATE,
        phrases=[
            ScriptPhrase("Hello.", 0.5),
            ScriptPhrase("Bonjour.", 3.5, language="fr-FR"),
            ScriptPhrase("Hallo.", 7.2, language="de-DE"),
        ],
    )
    with Emulator(transcripts=Transcripts((entry,))) as emu:
        run = run_sdk(emu.url, wav, languages=["en-US", "fr-FR", "de-DE"])
        request = emu.stats().requests[-1]
    assert [(r.text, r.language) for r in run.recognized if r.text] == [
        ("Hello.", "en-US"),
        ("Bonjour.", "fr-FR"),
        ("Hallo.", "de-DE"),
    ]
    assert "languageId" in request.contexts[-1] or "lidEnabled" in request.query


def test_conversation_transcriber_gets_speaker_ids(tmp_path: Path) -> None:
    samples = tone_pcm(PATTERN)
    wav = write_wav(tmp_path / "call.wav", samples)
    entry = make_entry(
        entry_id="call",
        source=wav.name,
        samples=samples.astype(np.float32),
        sample_rate=RATE,
        phrases=[
            ScriptPhrase("Hi.", 0.5, speaker="Guest-1"),
            ScriptPhrase("Hello.", 3.5, speaker="Guest-2"),
            ScriptPhrase("Bye.", 7.2),
        ],
    )
    with Emulator(transcripts=Transcripts((entry,))) as emu:
        run = run_sdk(emu.url, wav, transcriber=True)
        request = emu.stats().requests[-1]
    assert [(r.text, r.speaker) for r in run.recognized if r.text] == [
        ("Hi.", "Guest-1"),
        ("Hello.", "Guest-2"),
        ("Bye.", "Guest-1"),
    ]
    assert request.path == "/speech/universal/v2"
    assert run.cancel_reason == "EndOfStream"


def test_profanity_is_masked_unless_raw_or_removed_is_asked_for(
    tmp_path: Path, make_wav: Callable[..., Path]
) -> None:
    import azure.cognitiveservices.speech as speechsdk

    wav = make_wav(PATTERN)
    transcripts = tmp_path / "t.yaml"
    script_add(transcripts, wav, "--text", "Oh damn, that is it.")
    with Emulator(transcripts=transcripts) as emu:
        masked = run_sdk(emu.url, wav)
        raw = run_sdk(emu.url, wav, profanity=speechsdk.ProfanityOption.Raw)
        removed = run_sdk(emu.url, wav, profanity=speechsdk.ProfanityOption.Removed)
    assert " ".join(masked.texts) == "Oh ****, that is it."
    assert " ".join(raw.texts) == "Oh damn, that is it."
    assert " ".join(removed.texts) == "Oh that is it."


def test_speed_paces_answers_to_the_audio_position(make_wav: Callable[..., Path]) -> None:
    wav = make_wav([("sil", 0.2), ("tone", 2), ("sil", 0.6), ("tone", 3), ("sil", 0.2)])
    with Emulator(speed=4.0) as emu:
        started = time.monotonic()
        run = run_sdk(emu.url, wav)
        elapsed = time.monotonic() - started
    assert len(run.texts) == 2 and elapsed >= 6.0 / 4.0 - 0.05
