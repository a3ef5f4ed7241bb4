"""The per-file JSON: Azure's batch-transcription shape, pinned, plus our block."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Phrase, RecognitionOptions, Transcript, Word
from batchscribe.outputs.azure_json import (
    TranscriptDocumentError,
    TranscriptMeta,
    read_transcript_document,
    render_transcript_json,
    transcript_document,
)

AUDIO = AudioInfo(codec="mp3", sample_rate=44100, channels=2, duration_s=62.34)
WHEN = datetime(2026, 11, 21, 2, 14, 7, tzinfo=timezone.utc)


def make_meta(**changes: Any) -> TranscriptMeta:
    values: dict[str, Any] = {
        "engine": "azure",
        "endpoint": "region:westeurope",
        "settings": RecognitionOptions().as_dict(),
        "sha256": "ab" * 32,
        "attempts": 2,
        "started_at": datetime(2026, 11, 21, 2, 13, 36, tzinfo=timezone.utc),
        "elapsed_s": 31.2049,
        "run_id": "20261121T020000Z-3f2a",
        "version": "0.1.0",
        "timestamp": WHEN,
    }
    values.update(changes)
    return TranscriptMeta(**values)


def detailed_phrase(**changes: Any) -> Phrase:
    values: dict[str, Any] = {
        "offset_ticks": 7_600_000,
        "duration_ticks": 25_800_000,
        "display": "Hello, world.",
        "lexical": "hello world",
        "itn": "hello world",
        "masked_itn": "hello world",
        "confidence": 0.93,
        "words": (Word("hello", 7_600_000, 3_000_000, 0.9), Word("world", 10_600_000, 5_000_000, 0.8)),
    }
    values.update(changes)
    return Phrase(**values)


def document(*phrases: Phrase, audio: AudioInfo = AUDIO, **meta: Any) -> dict[str, Any]:
    return transcript_document(
        source="calls/2026-11-20/a.mp3",
        transcript=Transcript(phrases=phrases),
        audio=audio,
        meta=make_meta(**meta),
    )


def test_keys_are_pinned_so_a_change_is_deliberate() -> None:
    lid = RecognitionOptions(languages=("en-US", "de-DE")).as_dict()
    doc = document(detailed_phrase(speaker=1, locale="en-US"), settings=lid)
    assert list(doc) == [
        "source", "timestamp", "durationInTicks", "duration",
        "combinedRecognizedPhrases", "recognizedPhrases", "batchscribe",
    ]  # fmt: skip
    assert list(doc["combinedRecognizedPhrases"][0]) == ["channel", "lexical", "itn", "maskedITN", "display"]
    phrase = doc["recognizedPhrases"][0]
    assert list(phrase) == [
        "recognitionStatus", "channel", "speaker", "locale",
        "offset", "duration", "offsetInTicks", "durationInTicks", "nBest",
    ]  # fmt: skip
    assert list(phrase["nBest"][0]) == ["confidence", "lexical", "itn", "maskedITN", "display", "words"]
    assert list(phrase["nBest"][0]["words"][0]) == [
        "word", "offset", "duration", "offsetInTicks", "durationInTicks", "confidence",
    ]  # fmt: skip
    assert list(doc["batchscribe"]) == [
        "schema_version", "version", "engine", "endpoint", "settings", "sha256", "audio",
        "attempts", "started_at", "elapsed_s", "run_id", "languages",
    ]  # fmt: skip
    assert list(doc["batchscribe"]["audio"]) == ["codec", "sample_rate", "channels", "duration_s"]


def test_values_follow_outputs_md() -> None:
    doc = document(detailed_phrase())
    assert doc["source"] == "calls/2026-11-20/a.mp3"
    assert doc["timestamp"] == "2026-11-21T02:14:07Z"
    assert (doc["durationInTicks"], doc["duration"]) == (623_400_000, "PT1M2.34S")
    phrase = doc["recognizedPhrases"][0]
    assert (phrase["offset"], phrase["duration"]) == ("PT0.76S", "PT2.58S")
    assert (phrase["offsetInTicks"], phrase["durationInTicks"]) == (7_600_000, 25_800_000)
    assert phrase["recognitionStatus"] == "Success"
    assert phrase["nBest"][0]["words"][0] == {
        "word": "hello", "offset": "PT0.76S", "duration": "PT0.3S",
        "offsetInTicks": 7_600_000, "durationInTicks": 3_000_000, "confidence": 0.9,
    }  # fmt: skip
    ours = doc["batchscribe"]
    assert ours["schema_version"] == 1
    assert ours["audio"] == {"codec": "mp3", "sample_rate": 44100, "channels": 2, "duration_s": 62.34}
    assert ours["started_at"] == "2026-11-21T02:13:36Z"
    assert ours["elapsed_s"] == 31.205
    assert ours["settings"]["format"] == "detailed"
    assert "warnings" not in ours and "languages" not in ours


def test_speaker_locale_and_words_appear_only_when_known() -> None:
    phrase = document(detailed_phrase(words=(), confidence=None))["recognizedPhrases"][0]
    assert "speaker" not in phrase and "locale" not in phrase
    assert list(phrase["nBest"][0]) == ["lexical", "itn", "maskedITN", "display"]


def test_simple_format_leaves_lexical_and_itn_empty() -> None:
    simple = Phrase(offset_ticks=0, duration_ticks=10_000_000, display="Hi there.")
    doc = document(simple, settings=RecognitionOptions(detailed=False).as_dict())
    assert doc["recognizedPhrases"][0]["nBest"] == [
        {"lexical": "", "itn": "", "maskedITN": "", "display": "Hi there."}
    ]
    assert doc["combinedRecognizedPhrases"] == [
        {"channel": 0, "lexical": "", "itn": "", "maskedITN": "", "display": "Hi there."}
    ]


def test_no_speech_is_a_valid_file_with_a_warning(tmp_path: Path) -> None:
    doc = document()
    assert doc["recognizedPhrases"] == [] and doc["combinedRecognizedPhrases"] == []
    assert doc["batchscribe"]["warnings"] == ["no speech recognized"]
    path = tmp_path / "a.mp3.json"
    path.write_text(render_transcript_json(doc), encoding="utf-8")
    assert read_transcript_document(path) == doc


def test_phrases_sorted_by_offset_then_channel_and_combined_per_channel() -> None:
    doc = document(
        detailed_phrase(offset_ticks=50_000_000, channel=0, display="Later."),
        detailed_phrase(offset_ticks=10_000_000, channel=1, display="Customer."),
        detailed_phrase(offset_ticks=10_000_000, channel=0, display="Agent."),
    )
    order = [(p["offsetInTicks"], p["channel"]) for p in doc["recognizedPhrases"]]
    assert order == [(10_000_000, 0), (10_000_000, 1), (50_000_000, 0)]
    combined = {c["channel"]: c["display"] for c in doc["combinedRecognizedPhrases"]}
    assert combined == {0: "Agent. Later.", 1: "Customer."}


def test_language_identification_adds_locales_and_shares_of_speech_time() -> None:
    doc = document(
        detailed_phrase(offset_ticks=0, duration_ticks=30_000_000, locale="en-US"),
        detailed_phrase(offset_ticks=40_000_000, duration_ticks=10_000_000, locale="de-DE"),
    )
    assert [p["locale"] for p in doc["recognizedPhrases"]] == ["en-US", "de-DE"]
    assert doc["batchscribe"]["languages"] == {"de-DE": 0.25, "en-US": 0.75}


def test_language_identification_without_speech_gives_empty_shares() -> None:
    doc = document(settings=RecognitionOptions(languages=("en-US", "de-DE")).as_dict())
    assert doc["batchscribe"]["languages"] == {}


def test_engine_warnings_and_transcript_ending_early_are_reported() -> None:
    long_audio = AudioInfo(codec="wav", sample_rate=16000, channels=1, duration_s=600.0)
    transcript = Transcript(phrases=(detailed_phrase(confidence=0.3),), warnings=("channel 1 silent",))
    doc = transcript_document(source="a.wav", transcript=transcript, audio=long_audio, meta=make_meta())
    warnings = doc["batchscribe"]["warnings"]
    assert warnings[0] == "channel 1 silent"
    assert warnings[1].startswith("transcript ends long before the audio: last phrase ends at 00:00:03")
    assert warnings[2] == "low average confidence (0.30)"


def test_no_secret_reaches_the_file() -> None:
    doc = document(
        detailed_phrase(),
        endpoint="endpoint:wss://user:pw@example.com/speech?subscription-key=SECRET123&lang=en",
        settings={"language": "en-US", "speech_key": "SECRET123", "nested": {"api_key": "SECRET123"}},
    )
    text = render_transcript_json(doc)
    assert "SECRET123" not in text and "pw@" not in text
    assert doc["batchscribe"]["endpoint"] == "endpoint:wss://example.com/speech?subscription-key=***&lang=en"
    assert doc["batchscribe"]["settings"] == {"language": "en-US", "nested": {}}


def test_unknown_audio_duration_falls_back_to_the_end_of_speech() -> None:
    unknown = AudioInfo(codec="opus", sample_rate=48000, channels=1, duration_s=0.0)
    doc = document(detailed_phrase(), audio=unknown)
    assert doc["durationInTicks"] == 7_600_000 + 25_800_000


def test_read_accepts_what_we_write(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    doc = document(detailed_phrase(speaker=2))
    path.write_text(render_transcript_json(doc), encoding="utf-8")
    assert read_transcript_document(path) == json.loads(json.dumps(doc))


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: d.pop("batchscribe"), "batchscribe is missing"),
        (
            lambda d: d["recognizedPhrases"][0].update(offsetInTicks="1"),
            r"offsetInTicks is missing or not int",
        ),
        (lambda d: d["recognizedPhrases"][0].update(nBest=[]), "nBest is empty"),
        (lambda d: d.update(durationInTicks=True), "durationInTicks"),
        (lambda d: d["batchscribe"].update(schema_version=2), "newer batchscribe"),
    ],
)
def test_read_rejects_a_wrong_shape(tmp_path: Path, break_it: Any, message: str) -> None:
    doc = document(detailed_phrase())
    break_it(doc)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(TranscriptDocumentError, match=message):
        read_transcript_document(path)


def test_read_rejects_a_truncated_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(render_transcript_json(document(detailed_phrase()))[:100], encoding="utf-8")
    with pytest.raises(TranscriptDocumentError, match="cannot read"):
        read_transcript_document(path)
    with pytest.raises(TranscriptDocumentError, match="cannot read"):
        read_transcript_document(tmp_path / "missing.json")
