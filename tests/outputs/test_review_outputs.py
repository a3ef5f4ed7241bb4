"""What a reviewer gets from `batchscribe run`: detailed JSON, recognition options, subtitles,
languages, speakers and the morning report, end to end through the CLI and the real Speech SDK
against the emulator."""

from __future__ import annotations

import json
import re
import struct
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import srt
import webvtt
from typer.testing import CliRunner, Result

from batchscribe.cli import app
from batchscribe.emulator import Emulator, ScriptPhrase
from batchscribe.report import latest_run_dir, load_summary
from tests.conftest import Recordings, spans_samples, write_wav

pytestmark = pytest.mark.integration
FAST = ["--sdk-send-rate", "50"]
TICKS_PER_MS = 10_000

DIALOGUE = [
    ScriptPhrase(
        "Good morning, this is Contoso support.", speaker="Guest-1", language="en-US", confidence=0.93
    ),
    ScriptPhrase("Guten Morgen, ich habe eine Frage.", speaker="Guest-2", language="de-DE", confidence=0.81),
    ScriptPhrase("Oh damn, of course, go ahead.", speaker="Guest-1", language="en-US", confidence=0.88),
]
MASKED_DISPLAY = [
    "Good morning, this is Contoso support.",
    "Guten Morgen, ich habe eine Frage.",
    "Oh ****, of course, go ahead.",
]


def transcribe(
    cli: CliRunner, recordings: Recordings, emulator: Emulator, out: Path, *options: str
) -> Result:
    args = ["run", str(recordings.root), "--out", str(out), "--host", emulator.url, *FAST, *options]
    return cli.invoke(app, args, catch_exceptions=False)


def document(out: Path, source: str) -> dict[str, Any]:
    return json.loads((out / f"{source}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def best(phrase: dict[str, Any]) -> dict[str, Any]:
    (first,) = phrase["nBest"]
    return first  # type: ignore[no-any-return]


def latest_summary(out: Path) -> dict[str, Any]:
    folder = latest_run_dir(out)
    assert folder is not None
    return load_summary(folder)


def ms(ticks: int) -> int:
    return (ticks + TICKS_PER_MS // 2) // TICKS_PER_MS


def phrase_span_ms(phrase: dict[str, Any]) -> tuple[int, int]:
    start = phrase["offsetInTicks"]
    return ms(start), ms(start + phrase["durationInTicks"])


# -- 1. detailed recognition and the options that change a transcript -----------------------


def test_json_is_detailed_by_default_with_every_text_form_and_a_confidence(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out)

    assert result.exit_code == 0, result.output
    doc = document(out, "call.wav")
    phrases = doc["recognizedPhrases"]
    assert [best(p)["display"] for p in phrases] == MASKED_DISPLAY
    assert [best(p)["confidence"] for p in phrases] == [0.93, 0.81, 0.88]
    for phrase in phrases:
        nbest = best(phrase)
        assert list(nbest) == ["confidence", "lexical", "itn", "maskedITN", "display"]  # no words unasked
        assert nbest["lexical"] and nbest["lexical"] == nbest["lexical"].lower()
        assert "speaker" not in phrase and "locale" not in phrase
    assert best(phrases[2])["lexical"] == "oh damn of course go ahead"
    assert best(phrases[2])["maskedITN"] == "oh **** of course go ahead"
    (combined,) = doc["combinedRecognizedPhrases"]
    assert combined["display"] == " ".join(MASKED_DISPLAY)
    assert all(combined[key] for key in ("lexical", "itn", "maskedITN"))
    assert doc["batchscribe"]["settings"] == {
        "language": "en-US", "languages": [], "format": "detailed", "word_timestamps": False,
        "profanity": "masked", "phrases": [], "endpoint_id": "", "diarize": False, "channels": "mix",
    }  # fmt: skip
    assert "languages" not in doc["batchscribe"]


def _check_words(doc: dict[str, Any], emulator: Emulator) -> None:
    for phrase in doc["recognizedPhrases"]:
        nbest = best(phrase)
        words = nbest["words"]
        assert [w["word"] for w in words] == nbest["lexical"].split()
        start, end = phrase["offsetInTicks"], phrase["offsetInTicks"] + phrase["durationInTicks"]
        for word in words:
            assert start <= word["offsetInTicks"] < word["offsetInTicks"] + word["durationInTicks"] <= end
            assert word["confidence"] == nbest["confidence"]
        assert [w["offsetInTicks"] for w in words] == sorted(w["offsetInTicks"] for w in words)


def _check_phrase_list(doc: dict[str, Any], emulator: Emulator) -> None:
    (context,) = [c for c in emulator.stats().requests[-1].contexts if "dgi" in c]
    items = [item["Text"] for group in context["dgi"]["Groups"] for item in group["Items"]]
    assert items == ["Contoso", "Fabrikam Ltd"]


def _check_endpoint_id(doc: dict[str, Any], emulator: Emulator) -> None:
    assert emulator.stats().requests[-1].query["cid"] == "4f1c2d3e-custom-model"


def _check_languages(doc: dict[str, Any], emulator: Emulator) -> None:
    assert [p["locale"] for p in doc["recognizedPhrases"]] == ["en-US", "de-DE", "en-US"]
    assert emulator.stats().requests[-1].query["lidEnabled"] == "en-US,de-DE"


def _check_diarize(doc: dict[str, Any], emulator: Emulator) -> None:
    assert [p["speaker"] for p in doc["recognizedPhrases"]] == [1, 2, 1]
    assert emulator.stats().requests[-1].path == "/speech/universal/v2"  # the conversation transcriber


def _check_simple(doc: dict[str, Any], emulator: Emulator) -> None:
    for phrase in doc["recognizedPhrases"]:
        nbest = best(phrase)
        assert nbest["display"] and (nbest["lexical"], nbest["itn"], nbest["maskedITN"]) == ("", "", "")
        assert "confidence" not in nbest
    assert "format" not in emulator.stats().requests[-1].query


OPTIONS = {
    "word-timestamps": (["--word-timestamps"], "word_timestamps", True, _check_words),
    "profanity-raw": (["--profanity", "raw"], "profanity", "raw", None),
    "profanity-removed": (["--profanity", "removed"], "profanity", "removed", None),
    "phrases": (["--phrases", "PHRASES"], "phrases", ["Contoso", "Fabrikam Ltd"], _check_phrase_list),
    "endpoint-id": (["--endpoint-id", "4f1c2d3e-custom-model"], "endpoint_id", "4f1c2d3e-custom-model",
                    _check_endpoint_id),
    "languages": (["--languages", "en-US,de-DE"], "languages", ["en-US", "de-DE"], _check_languages),
    "diarize": (["--diarize"], "diarize", True, _check_diarize),
    "simple": (["--simple"], "format", "simple", _check_simple),
}  # fmt: skip
PROFANITY_DISPLAY = {"raw": "Oh damn, of course, go ahead.", "removed": "Oh of course, go ahead."}


@pytest.mark.parametrize("name", OPTIONS)
def test_each_recognition_option_reaches_the_service_is_recorded_and_redoes_done_files(
    name: str, cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    args, key, value, check = OPTIONS[name]
    phrase_list = tmp_path / "phrases.txt"
    phrase_list.write_text("# names and jargon\nContoso\n\nFabrikam Ltd\n", encoding="utf-8")
    args = [str(phrase_list) if a == "PHRASES" else a for a in args]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    assert transcribe(cli, recordings, emulator, out).exit_code == 0
    assert document(out, "call.wav")["batchscribe"]["settings"][key] != value

    result = transcribe(cli, recordings, emulator, out, *args)

    assert result.exit_code == 0, result.output
    counts = latest_summary(out)["counts"]
    assert (counts["changed"], counts["succeeded"]) == (1, 1)  # the changed setting made it due again
    doc = document(out, "call.wav")
    assert doc["batchscribe"]["settings"][key] == value
    if key == "profanity":
        assert best(doc["recognizedPhrases"][2])["display"] == PROFANITY_DISPLAY[value]
        assert emulator.stats().requests[-1].query["profanity"] == value
    else:
        check(doc, emulator)
    sessions = len(emulator.stats().sessions)
    again = transcribe(cli, recordings, emulator, out, *args)
    assert again.exit_code == 0, again.output
    assert "Nothing to do" in again.output  # same settings: nothing to redo, no new run report
    assert len(emulator.stats().sessions) == sessions


def test_endpoint_id_with_language_identification_is_refused_before_anything_is_sent(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1)
    emulator = emulator_for(recordings)

    result = transcribe(
        cli, recordings, emulator, tmp_path / "out", "--languages", "en-US,de-DE", "--endpoint-id", "abc"
    )

    assert result.exit_code == 2, result.output
    assert "--endpoint-id: cannot be combined with --languages" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert emulator.stats().connections == 0


# -- 2. subtitles and text ------------------------------------------------------------------

LONG_PHRASE = (
    "Thanks for calling about the invoice from last March, I can see the two payments you made and "
    "the refund that went out on the fourth, so let me explain what happened with the late fee."
)
SUBTITLE_SCRIPT = [
    ScriptPhrase(LONG_PHRASE, speaker="Guest-1"),
    ScriptPhrase("Right, that makes sense.", speaker="Guest-2"),
    ScriptPhrase("And the <b>new</b> plan starts on Monday --> next week, okay?", speaker="Guest-1"),
]
SUBTITLE_AUDIO = [("sil", 0.3), ("speech", 9.0), ("sil", 0.8), ("speech", 1.2), ("sil", 0.8), ("speech", 1.6),
                  ("sil", 0.3)]  # fmt: skip
LABEL = re.compile(r"^Speaker (\d+): ")
_MS = timedelta(milliseconds=1)


def _srt_cues(text: str) -> list[tuple[int, int, list[str]]]:
    cues = list(srt.parse(text, ignore_errors=False))
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    return [(c.start // _MS, c.end // _MS, c.content.split("\n")) for c in cues]


def _vtt_ms(clock: str) -> int:
    hours, minutes, seconds = clock.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def _vtt_cues(text: str) -> list[tuple[int, int, list[str], str]]:
    """(start ms, end ms, lines with entities decoded, voice); webvtt-py keeps them escaped."""
    return [
        (_vtt_ms(c.start), _vtt_ms(c.end), [unescape(line) for line in c.text.split("\n")], c.voice)
        for c in webvtt.from_string(text)
    ]


@pytest.mark.parametrize("word_timestamps", [False, True], ids=["by-characters", "by-word-timings"])
def test_subtitles_parse_back_and_their_cues_follow_the_json(
    word_timestamps: bool, cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=5, text=SUBTITLE_SCRIPT, samples=spans_samples(5, SUBTITLE_AUDIO))
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    options = [
        "--formats",
        "json,txt,srt,vtt",
        "--diarize",
        *(["--word-timestamps"] if word_timestamps else []),
    ]

    result = transcribe(cli, recordings, emulator, out, *options)

    assert result.exit_code == 0, result.output
    phrases = document(out, "call.wav")["recognizedPhrases"]
    assert [best(p)["display"] for p in phrases] == [p.text for p in SUBTITLE_SCRIPT]
    assert phrases[0]["durationInTicks"] > 7 * 10_000_000  # the long phrase must be split by time too
    srt_cues = _srt_cues((out / "call.wav.srt").read_text(encoding="utf-8"))
    vtt_cues = _vtt_cues((out / "call.wav.vtt").read_text(encoding="utf-8"))
    assert [(s, e) for s, e, _ in srt_cues] == [(s, e) for s, e, _, _ in vtt_cues]
    assert len(srt_cues) > len(phrases) + 1

    previous_end = 0
    for start, end, lines in srt_cues:
        assert previous_end <= start < end <= start + 7000
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), lines
        previous_end = end

    cue_index = 0
    for phrase in phrases:
        speaker, words = phrase["speaker"], best(phrase)["display"].split()
        phrase_start, phrase_end = phrase_span_ms(phrase)
        word_starts = {ms(w["offsetInTicks"]) for w in best(phrase).get("words", [])}
        taken: list[str] = []
        first_start = srt_cues[cue_index][0]
        while len(taken) < len(words):
            start, end, lines = srt_cues[cue_index]
            _, _, vtt_lines, voice = vtt_cues[cue_index]
            label = LABEL.match(lines[0])
            assert label is not None and int(label.group(1)) == speaker, lines
            assert voice == f"Speaker {speaker}"
            text_lines = [lines[0][label.end() :], *lines[1:]]
            assert [line.replace(" -> ", " --> ") for line in text_lines] == vtt_lines
            if word_timestamps and start != first_start:
                assert start in word_starts  # a split phrase's pieces start on a recognized word
            taken += " ".join(text_lines).split()
            cue_index += 1
        assert taken == [w.replace("-->", "->") for w in words]  # every word whole, in order
        assert (first_start, end) == (phrase_start, phrase_end)
    assert cue_index == len(srt_cues)


@pytest.mark.parametrize("formats", ["srt", "vtt", "txt,vtt"])
def test_any_subset_of_formats_is_written_and_the_json_always(
    formats: str, cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("a/call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--formats", formats)

    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (out / "a").iterdir())
    assert written == sorted({f"call.wav.{f}" for f in [*formats.split(","), "json"]})


def test_txt_timestamps_are_each_phrase_start(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE, samples=spans_samples(1, [
        ("sil", 0.4), ("speech", 1.0), ("sil", 0.7), ("speech", 1.0), ("sil", 0.7), ("speech", 1.0), ("sil", 0.3)]))  # fmt: skip
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--timestamps")

    assert result.exit_code == 0, result.output
    phrases = document(out, "call.wav")["recognizedPhrases"]
    expected = [f"[00:00:{p['offsetInTicks'] // 10_000_000:02d}] {best(p)['display']}" for p in phrases]
    assert (out / "call.wav.txt").read_text(encoding="utf-8").splitlines() == expected
    assert [line[:10] for line in expected] == ["[00:00:00]", "[00:00:02]", "[00:00:03]"]


# -- 3. language identification -------------------------------------------------------------


def test_language_identification_gives_each_phrase_its_locale_and_each_language_its_share(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--languages", "en-US,de-DE,fr-FR")

    assert result.exit_code == 0, result.output
    doc = document(out, "call.wav")
    phrases = doc["recognizedPhrases"]
    assert [(p["locale"], best(p)["display"]) for p in phrases] == list(
        zip(["en-US", "de-DE", "en-US"], MASKED_DISPLAY, strict=True)
    )
    durations = [p["durationInTicks"] for p in phrases]
    german = durations[1] / sum(durations)
    assert doc["batchscribe"]["languages"] == {"de-DE": round(german, 4), "en-US": round(1 - german, 4)}
    assert doc["batchscribe"]["settings"]["languages"] == ["en-US", "de-DE", "fr-FR"]
    request = emulator.stats().requests[-1]
    assert request.query["lidEnabled"] == "en-US,de-DE,fr-FR"
    assert any(c.get("languageId", {}).get("mode") == "DetectContinuous" for c in request.contexts)


def test_more_than_ten_languages_is_a_usage_error(cli: CliRunner, tmp_path: Path) -> None:
    languages = ",".join(["en-US", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pt-BR", "sv-SE", "da-DK",
                          "fi-FI", "pl-PL"])  # fmt: skip
    result = cli.invoke(app, ["run", str(tmp_path), "--emulate", "--languages", languages])
    assert result.exit_code == 2
    assert "at most 10 languages" in result.output


# -- 4. speakers ----------------------------------------------------------------------------


def test_diarized_two_speaker_script_gives_integer_speakers_and_labelled_text(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--diarize", "--formats", "json,txt,srt,vtt")

    assert result.exit_code == 0, result.output
    phrases = document(out, "call.wav")["recognizedPhrases"]
    speakers = [p["speaker"] for p in phrases]
    assert speakers == [1, 2, 1] and all(type(s) is int for s in speakers)
    assert all("locale" not in p for p in phrases)
    assert (out / "call.wav.txt").read_text(encoding="utf-8").splitlines() == [
        f"Speaker {s}: {text}" for s, text in zip(speakers, MASKED_DISPLAY, strict=True)
    ]
    assert [c.content.split(": ")[0] for c in srt.parse((out / "call.wav.srt").read_text())] == [
        "Speaker 1", "Speaker 2", "Speaker 1"]  # fmt: skip
    assert [c.voice for c in webvtt.from_string((out / "call.wav.vtt").read_text())] == [
        "Speaker 1", "Speaker 2", "Speaker 1"]  # fmt: skip
    assert emulator.stats().requests[-1].path == "/speech/universal/v2"


def test_diarization_with_language_identification_gives_speaker_and_locale(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--diarize", "--languages", "en-US,de-DE")

    assert result.exit_code == 0, result.output
    doc = document(out, "call.wav")
    assert [(p["speaker"], p["locale"]) for p in doc["recognizedPhrases"]] == [
        (1, "en-US"), (2, "de-DE"), (1, "en-US")]  # fmt: skip
    assert set(doc["batchscribe"]["languages"]) == {"en-US", "de-DE"}
    request = emulator.stats().requests[-1]
    assert request.path == "/speech/universal/v2"
    assert any("languageId" in c for c in request.contexts)


def test_a_diarized_session_leaves_the_reaper_threads_alive(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("call.wav", seed=1, text=DIALOGUE)
    emulator = emulator_for(recordings)

    result = transcribe(cli, recordings, emulator, tmp_path / "out", "--diarize")

    # A ConversationTranscriber raises NotImplementedError for `recognizing`; that once killed the
    # reaper thread that releases it (pytest reports an exception in any thread as a failure).
    assert result.exit_code == 0, result.output


def sparse_wav(path: Path, minutes: float, rate: int = 8000) -> Path:
    """A valid PCM WAV header announcing ``minutes`` of silence, as a sparse file (no disk used)."""
    data = int(rate * 60 * minutes) * 2
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(header + b"data" + struct.pack("<I", data))
        f.truncate(len(header) + 8 + data)
    return path


def test_recording_longer_than_the_diarization_limit_is_refused_with_a_reason_and_not_sent(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    recordings.add("short.wav", seed=1, text=DIALOGUE)
    sparse_wav(recordings.root / "all-day.wav", minutes=241)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--diarize")

    assert result.exit_code == 1, result.output
    (failure,) = latest_summary(out)["failures"]
    assert (failure["source"], failure["code"], failure["attempts"]) == (
        "all-day.wav",
        "too_long_to_diarize",
        0,
    )
    assert "240 minutes" in failure["message"] and "not sent" in failure["message"]
    assert "without --diarize" in failure["hint"]
    assert not (out / "all-day.wav.json").exists() and (out / "short.wav.json").is_file()
    stats = emulator.stats()
    assert stats.connections == 1 and list(stats.recordings) == ["short.wav"]


# -- 5. the morning report ------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append(self._row)
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


GARBAGE = "<b>garbage<b>.mp3"  # a file name with markup in it (no "/" possible)
MUMBLED = 'uh <script>alert("heard")</script> the line is bad'


def make_review_run(recordings: Recordings) -> None:
    """One run with every kind of file a reviewer must see."""
    recordings.add("good.wav", seed=1, text=DIALOGUE)
    recordings.add("flaky.wav", seed=2, faults=["close:1011:sessions=1"])
    recordings.add("rejected.wav", seed=3, faults=["close:1007:reason=Unsupported audio format"])
    (recordings.root / GARBAGE).write_text("not audio at all\n" * 20)
    write_wav(recordings.root / "silence.wav", np.zeros(4 * 16_000, dtype=np.int16))  # not in the script
    recordings.add("mumble.wav", seed=5, text=[ScriptPhrase(MUMBLED, confidence=0.31),
                                               ScriptPhrase(LONG_PHRASE, confidence=0.31)])  # fmt: skip
    voicemail = spans_samples(6, [("sil", 0.3), ("speech", 1.5), ("sil", 73.2)])
    recordings.add("voicemail.wav", seed=6, text="Hi, call me back.", samples=voicemail)


def test_morning_report_has_failures_first_then_warnings_slowest_and_the_worker_timeline(
    cli: CliRunner, recordings: Recordings, tmp_path: Path, emulator_for, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    make_review_run(recordings)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"

    result = transcribe(cli, recordings, emulator, out, "--workers", "3")

    assert result.exit_code == 1, result.output
    folder = latest_run_dir(out)
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "summary.json", "summary.md"]
    summary = load_summary(folder)
    assert summary["counts"]["succeeded"] == 5 and summary["counts"]["failed"] == 2
    assert summary["counts"]["retried"] == 1 and summary["throughput"] > 0

    markdown = (folder / "summary.md").read_text(encoding="utf-8")
    assert markdown.index("## Totals") < markdown.index("## Failures (2)") < markdown.index("## Flagged")
    assert markdown.index("## Flagged") < markdown.index("## Slowest files")
    assert "## Warnings" not in markdown  # each quality warning is its recording's flag, shown once
    assert "Throughput" in markdown and "Audio transcribed" in markdown
    assert "### `bad_request`: permanent, 1 file" in markdown  # the cause once, its files under it
    rejected = next(line for line in markdown.splitlines() if line.startswith("| `rejected.wav`"))
    for expected in ("Unsupported audio format", "BadRequest", "| 1 |"):
        assert expected in rejected

    page = parse_page((folder / "report.html").read_text(encoding="utf-8"))
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert not {tag for tag, _ in page.tags} & {"script", "link", "img", "iframe", "object", "embed"}
    assert not any("src" in dict(attrs) for _, attrs in page.tags)
    links = [dict(attrs)["href"] for _, attrs in page.tags if "href" in dict(attrs)]
    assert links and all(str(link).startswith("../../") for link in links)  # only to the transcripts
    outside = html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, never fetched
    assert "http://" not in outside and "https://" not in outside and "url(" not in outside
    assert html.index('id="failures"') < html.index('id="flagged"') < html.index('id="slowest"')
    header, *rows = page.tables["failures"]
    assert header == ["File", "What happened", "Tries"]
    causes = [row[0] for row in rows if len(row) == 1]
    assert [c.split(" What to do:")[0] for c in causes] == ["bad_request · permanent · 1 file",
                                                             "not_media · permanent · 1 file"]  # fmt: skip
    by_file = {row[0]: row for row in rows if len(row) == 3}
    assert set(by_file) == {"rejected.wav", GARBAGE}
    assert by_file[GARBAGE][2] == "not sent"
    assert (
        "Unsupported audio format" in by_file["rejected.wav"][1] and by_file["rejected.wav"][2] == "1 attempt"
    )
    assert all(" What to do: " in c and not c.endswith("What to do:") for c in causes)
    assert "&lt;b&gt;garbage&lt;b&gt;.mp3" in html

    # the quality warnings of these recordings are their flags: by severity, with what was heard
    flagged = {row[1]: row for row in page.tables["flagged"][1:]}
    assert [row[0] for row in page.tables["flagged"][1:]] == ["high", "medium", "medium"]
    assert flagged["silence.wav"][2] == "no speech recognized"
    assert flagged["voicemail.wav"][2].startswith("transcript ends at 1.8 s, the audio runs to 1 min 15 s")
    assert flagged["voicemail.wav"][2].endswith("Hi, call me back.")
    mumble = flagged["mumble.wav"][2]
    assert mumble.startswith(f"low mean confidence 0.31 {MUMBLED} Thanks for calling")
    assert mumble.endswith(" with the late fee.") and " … " in mumble  # the middle left out
    assert "&lt;script&gt;alert(&quot;heard&quot;)&lt;/script&gt;" in html
    assert 'id="warnings"' not in html  # nothing else to warn about: no second copy of the flags
    slowest = [row[0] for row in page.tables["slowest"][1:]]
    assert set(slowest) == {
        "good.wav",
        "flaky.wav",
        "rejected.wav (failed)",
        "silence.wav",
        "mumble.wav",
        "voicemail.wav",
    }

    bars = [attrs.get("class") for tag, attrs in page.tags if tag == "rect" and attrs.get("class")]
    assert bars.count("retried") == 1 and bars.count("failed") == 1 and bars.count("succeeded") == 5
    assert "flaky.wav: retried" in html

    # `batchscribe report` prints it again: the latest by default, or a run by id; --open shows the page
    again = cli.invoke(app, ["report", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert f"run: {summary['run_id']}\nresult: 2 of 7 files failed" in again.output  # plain: no terminal
    assert "rejected.wav" in again.output and "bad_request" in again.output
    assert "3 files with warnings" in again.output and "flagged for a look: 3 of 5" in again.output
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    by_id = cli.invoke(app, ["report", summary["run_id"], "--out", str(out), "--open"])
    assert by_id.exit_code == 0, by_id.output
    assert opened == [(folder / "report.html").resolve().as_uri()]
