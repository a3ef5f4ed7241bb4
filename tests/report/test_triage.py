"""Quality triage: each check on per-file JSON documents in the shape batchscribe writes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from batchscribe.audio import AudioInfo
from batchscribe.config.jobs import job_settings, load_jobs
from batchscribe.engines.base import TICKS_PER_SECOND, Phrase, Transcript, Word
from batchscribe.errors import UsageError
from batchscribe.outputs.azure_json import TranscriptMeta, render_transcript_json, transcript_document
from batchscribe.outputs.quality import DEFAULT_THRESHOLDS, PLACEHOLDER_WARNING, QualityThresholds
from batchscribe.report.triage import thresholds_from, triage_document, triage_outputs

T = TICKS_PER_SECOND


def said(start: float, end: float, text: str = "we talked about the order", **changes: Any) -> Phrase:
    return Phrase(offset_ticks=int(start * T), duration_ticks=int((end - start) * T), display=text, **changes)


def worded(start: float, end: float, confidences: Sequence[float], **changes: Any) -> Phrase:
    step = (end - start) / len(confidences)
    words = tuple(
        Word(f"w{n}", int((start + n * step) * T), int(step * T), confidence=c)
        for n, c in enumerate(confidences)
    )
    return said(start, end, " ".join(w.word for w in words), words=words, **changes)


def document(
    phrases: Sequence[Phrase], audio_s: float, *, languages: Sequence[str] = (), warnings: Sequence[str] = ()
) -> dict[str, Any]:
    meta = TranscriptMeta(
        engine="azure", endpoint="region:westeurope",
        settings={"language": "en-US", "languages": list(languages)}, sha256="0" * 64, attempts=1,
        started_at=datetime(2026, 11, 21, tzinfo=timezone.utc), elapsed_s=1.0, run_id="r",
    )  # fmt: skip
    audio = AudioInfo(codec="pcm_s16le", sample_rate=16000, channels=1, duration_s=audio_s)
    transcript = Transcript(phrases=tuple(phrases), warnings=tuple(warnings))
    return transcript_document(source="a.wav", transcript=transcript, audio=audio, meta=meta)


def checks(doc: dict[str, Any], limits: QualityThresholds = DEFAULT_THRESHOLDS) -> list[tuple[str, str]]:
    return [(f.check, f.severity) for f in triage_document(doc, limits)]


def steady(seconds: float) -> list[Phrase]:
    """Speech at a usual rate (about 150 words a minute), confident, in 10 s phrases."""
    return [worded(t, t + 10, [0.92] * 25) for t in range(0, int(seconds), 10)]


def test_a_clean_transcript_is_not_flagged() -> None:
    assert checks(document(steady(120), 125)) == []


def test_no_speech_is_high() -> None:
    assert checks(document([], 60)) == [("no_speech", "high")]
    assert checks(document([said(1, 2, "  ")], 60)) == [("no_speech", "high")]


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (0.92, []),
        (0.45, [("confidence", "medium")]),
        (0.2, [("confidence", "high"), ("doubtful_words", "low")]),
    ],
)
def test_mean_word_confidence(confidence: float, expected: list[tuple[str, str]]) -> None:
    phrases = [worded(t, t + 10, [confidence] * 25) for t in range(0, 60, 10)]
    assert checks(document(phrases, 60)) == expected


def test_many_doubtful_words_are_flagged_even_when_the_mean_is_fine() -> None:
    phrases = [worded(t, t + 10, [0.99] * 15 + [0.3] * 10) for t in range(0, 60, 10)]  # mean 0.71
    assert checks(document(phrases, 60)) == [("doubtful_words", "low")]


def test_phrase_confidence_counts_by_duration_when_there_are_no_words() -> None:
    long_bad = said(0, 50, " ".join(["word"] * 120), confidence=0.2)
    short_good = said(50, 51, "yes", confidence=0.99)
    assert ("confidence", "high") in checks(document([long_bad, short_good], 51))
    assert checks(document([said(0, 1, "uh", confidence=0.1), *steady(50)[1:]], 51)) == []


@pytest.mark.parametrize(
    ("heard", "expected_languages", "expected"),
    [
        ("de-DE", (), [("language", "high")]),  # expected en-US
        ("en-GB", (), [("language", "medium")]),  # the same language, another region
        ("de-DE", ("en-US", "de-DE"), []),
        ("en-US", (), []),
    ],
)
def test_language_identified_against_the_expected_one(
    heard: str, expected_languages: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    phrases = [worded(t, t + 10, [0.9] * 25, locale=heard) for t in range(0, 40, 10)]
    phrases.append(worded(40, 45, [0.9] * 12, locale="en-US"))  # a little of the expected one
    doc = document(phrases, 45, languages=expected_languages)
    assert checks(doc) == expected
    if expected:
        assert "89% of the speech" in triage_document(doc)[0].detail


def test_a_transcript_ending_long_before_the_audio() -> None:
    assert checks(document(steady(100), 600)) == [("ends_early", "medium")]
    assert checks(document(steady(100), 150)) == []  # 50 s of tail: hold music, a goodbye


def test_a_long_stretch_without_a_phrase() -> None:
    phrases = [*steady(30), *[worded(t, t + 10, [0.9] * 25) for t in (200, 210)]]
    flags = triage_document(document(phrases, 225))
    assert [(f.check, f.severity) for f in flags] == [("silence", "low")]
    assert flags[0].detail == "no speech recognized for 2 min 50 s from 30.0 s"


@pytest.mark.parametrize(("words", "flagged"), [(5, True), (25, False), (60, True)])
def test_unusual_speech_rate(words: int, flagged: bool) -> None:
    phrases = [worded(t, t + 10, [0.9] * words) for t in range(0, 60, 10)]
    assert (("speech_rate", "low") in checks(document(phrases, 60))) is flagged
    assert checks(document(phrases[:2], 20)) == []  # 20 s of speech: too little to judge a rate


def test_emulator_placeholder_text_is_not_judged() -> None:
    assert checks(document([], 60, warnings=[PLACEHOLDER_WARNING])) == []


def test_thresholds_come_from_the_run_settings() -> None:
    phrases = [worded(t, t + 10, [0.7] * 25) for t in range(0, 60, 10)]
    doc = document(phrases, 60)
    assert checks(doc) == []
    stricter = thresholds_from({"quality": {"low_confidence": 0.8}})
    assert stricter == QualityThresholds(low_confidence=0.8)
    assert checks(doc, stricter) == [("confidence", "medium")]
    assert thresholds_from({}) == DEFAULT_THRESHOLDS


def test_triage_outputs_counts_by_severity_most_serious_first(tmp_path: Path) -> None:
    written = []
    for name, phrases, audio_s in [
        ("fine.wav", steady(60), 60),
        ("silent.wav", [], 60),
        ("stops.wav", steady(60), 600),
    ]:
        path = tmp_path / f"{name}.json"
        path.write_text(render_transcript_json(document(phrases, audio_s)), encoding="utf-8")
        written.append((name, (tmp_path / f"{name}.txt", path)))
    written.append(("gone.wav", (tmp_path / "gone.wav.json",)))  # deleted since: not judged
    block = triage_outputs(written, DEFAULT_THRESHOLDS, lambda p: p.name)
    assert (block["checked"], block["flagged"]) == (3, 2)
    assert block["by_severity"] == {"high": 1, "medium": 1, "low": 0}
    assert [(r["source"], r["severity"], r["link"]) for r in block["recordings"]] == [
        ("silent.wav", "high", "silent.wav.txt"),  # what a person reads
        ("stops.wav", "medium", "stops.wav.txt"),
    ]
    assert block["thresholds"] == DEFAULT_THRESHOLDS.as_dict()


def test_a_jobs_file_sets_thresholds_and_currency(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "defaults: {currency: eur, quality: {low_confidence: 0.6, silent_gap_s: 90}}\n"
        "jobs: {calls: {inputs: [in], out: out}}\n",
        encoding="utf-8",
    )
    settings = job_settings(load_jobs(jobs), "calls", credentials=False)
    assert settings.quality == QualityThresholds(low_confidence=0.6, silent_gap_s=90.0)
    assert settings.currency == "EUR"
    public = settings.public_dict()
    assert public["currency"] == "EUR" and public["quality"]["silent_gap_s"] == 90.0
    jobs.write_text("jobs: {calls: {inputs: [in], quality: {low_confidense: 0.6}}}\n", encoding="utf-8")
    with pytest.raises(UsageError, match="low_confidense"):
        load_jobs(jobs)
