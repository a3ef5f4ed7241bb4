"""Transcripts files and answers: round trips, lookup by sound, exact texts, stable placeholders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from batchscribe.emulator.answers import Answerer
from batchscribe.emulator.faults import parse_recording_fault
from batchscribe.emulator.scripts import (
    ScriptPhrase,
    Transcripts,
    TranscriptsFileError,
    make_entry,
    place_phrases,
    split_text,
)
from tests.emulator.helpers import RATE, tone_pcm

PATTERN = [("sil", 0.5), ("tone", 2), ("sil", 1), ("tone", 3), ("sil", 1), ("noise", 4)]


def entry_for(pattern: list[tuple[str, float]], entry_id: str, seed: int = 0, **kwargs: object):  # type: ignore[no-untyped-def]
    samples = tone_pcm(pattern, seed=seed).astype(np.float32)
    return make_entry(
        entry_id=entry_id,
        source=f"{entry_id}.wav",
        samples=samples,
        sample_rate=RATE,
        phrases=kwargs.pop("phrases", [ScriptPhrase("Hello.")]),
        **kwargs,
    )  # type: ignore[arg-type]


def test_file_round_trips_every_field(tmp_path: Path) -> None:
    entry = entry_for(
        PATTERN,
        "interview",
        phrases=[
            ScriptPhrase(
                "Bonjour.", 0.5, 2.5, speaker="Guest-2", language="fr-FR", confidence=0.8, words=("Bonjour.",)
            ),
            ScriptPhrase("Yes."),
        ],
        faults=[parse_recording_fault("close:1011:sessions=2")],
    )
    path = tmp_path / "t.yaml"
    Transcripts((entry,)).save(path)
    loaded = Transcripts.load(path).entries[0]
    assert loaded == entry
    assert "close:1011:sessions=2" in path.read_text()


def test_identify_finds_the_nearest_entry_and_checks_length() -> None:
    long_one = entry_for([*PATTERN, ("tone", 3)], "long")
    other = entry_for([("noise", 3), ("sil", 2), ("tone", 6)], "other", seed=4)
    short = entry_for([("tone", 1), ("sil", 1)], "short")
    scripts = Transcripts((long_one, other, short))
    assert scripts.identify(long_one.envelope, ended_at=None) is long_one
    assert scripts.identify(other.envelope[:200], ended_at=None) is other
    assert scripts.identify(short.envelope, ended_at=2.0) is short
    assert scripts.identify(short.envelope, ended_at=5.0) is None  # same start, wrong length
    silence = np.zeros(250)
    assert scripts.identify(silence, ended_at=None) is None


def test_adding_the_same_sound_under_another_name_replaces_it() -> None:
    first = entry_for(PATTERN, "a.wav")
    renamed = entry_for(PATTERN, "b.mp3", phrases=[ScriptPhrase("New text.")])
    scripts = Transcripts((first,)).with_entry(renamed)
    assert [e.id for e in scripts.entries] == ["b.mp3"]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("recordings: 3", "'recordings' list"),
        ("recordings: [{id: x, fingerprint: 'zz'}]", "unknown fingerprint format"),
        ("recordings: [{id: x, fingerprint: 'e2:AAAA', phrases: [{start: 1}]}]", "a phrase needs a text"),
        ("recordings: [{id: x, fingerprint: 'e2:AAAA', faults: ['http:503']}]", "cannot use http"),
        ("recordings: [{{", "cannot read transcripts file"),
    ],
)
def test_malformed_files_say_where(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(content)
    with pytest.raises(TranscriptsFileError, match=complaint):
        Transcripts.load(path)


def test_a_missing_file_is_empty_unless_it_was_asked_for(tmp_path: Path) -> None:
    assert Transcripts.load(tmp_path / "none.yaml").entries == ()
    with pytest.raises(TranscriptsFileError, match="does not exist"):
        Transcripts.load(tmp_path / "none.yaml", missing_ok=False)


def test_a_text_spread_over_segments_joins_back_exactly() -> None:
    text = "One two three four five six seven eight nine ten."
    phrases = split_text(text, [(0.5, 2.5), (3.5, 6.5), (7.5, 8.0)])
    assert " ".join(p.text for p in phrases) == text
    assert [p.start for p in phrases] == [0.5, 3.5, 7.5]
    assert split_text("Just this.", []) == [ScriptPhrase("Just this.", start=0.0)]


def test_phrases_are_placed_on_segments_in_order() -> None:
    segments = [(0.0, 1.0), (2.0, 3.0), (4.0, 5.0), (6.0, 7.0)]
    assert [p.start for p in place_phrases(["a", "b"], segments)] == [0.0, 6.0]
    assert [p.start for p in place_phrases(["a", "b", "c", "d", "e"], segments)] == [0.0, 2.0, 4.0, 4.0, 6.0]
    assert [p.start for p in place_phrases(["a"], segments)] == [0.0]


def test_timed_phrases_go_to_the_segment_they_start_in() -> None:
    entry = entry_for(
        PATTERN, "x", phrases=[ScriptPhrase("First.", 0.5, 2.5), ScriptPhrase("Second.", 3.5, 6.5)]
    )
    answers = Answerer("x", entry)
    assert answers.final(0.0, 0.48, 2.52, last=False).text == "First."  # type: ignore[union-attr]
    assert answers.partial(2.52, 3.45, 5.0) == "Second."
    assert answers.final(2.52, 3.45, 6.5, last=False).text == "Second."  # type: ignore[union-attr]
    assert answers.final(6.5, 7.5, 11.5, last=True) is None  # nothing starts there: NoMatch


def test_untimed_phrases_go_one_per_segment_and_the_rest_with_the_last() -> None:
    entry = entry_for(PATTERN, "x", phrases=[ScriptPhrase("A."), ScriptPhrase("B."), ScriptPhrase("C.")])
    answers = Answerer("x", entry)
    assert answers.final(0, 0, 1, last=False).text == "A."  # type: ignore[union-attr]
    assert answers.final(1, 2, 3, last=True).text == "B. C."  # type: ignore[union-attr]


def test_placeholder_text_depends_only_on_the_audio() -> None:
    first, again, other = Answerer("audio-1", None), Answerer("audio-1", None), Answerer("audio-2", None)
    text = first.final(0, 1.0, 3.0, last=False).text  # type: ignore[union-attr]
    assert text == again.final(0, 1.0, 3.0, last=False).text  # type: ignore[union-attr]
    assert text != other.final(0, 1.0, 3.0, last=False).text  # type: ignore[union-attr]
    assert text.endswith(".") and len(text.split()) == 5  # 2.5 words a second
