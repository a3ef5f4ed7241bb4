"""The .txt output: one phrase per line, optional time, channel and speaker labels."""

from __future__ import annotations

from batchscribe.engines.base import Phrase, Transcript
from batchscribe.outputs.text import render_text

SECOND = 10_000_000


def phrase(at_s: float, display: str, **changes: object) -> Phrase:
    return Phrase(offset_ticks=round(at_s * SECOND), duration_ticks=SECOND, display=display, **changes)  # type: ignore[arg-type]


def test_one_phrase_per_line_in_time_order() -> None:
    transcript = Transcript(phrases=(phrase(5, "Second."), phrase(1, "First.")))
    assert render_text(transcript) == "First.\nSecond.\n"


def test_timestamps_prefix_each_line_truncated_to_the_second() -> None:
    transcript = Transcript(phrases=(phrase(0.9, "Hi."), phrase(3725.5, "Much later.")))
    assert render_text(transcript, timestamps=True) == "[00:00:00] Hi.\n[01:02:05] Much later.\n"


def test_diarized_lines_name_the_speaker() -> None:
    transcript = Transcript(phrases=(phrase(1, "Hello.", speaker=1), phrase(2, "Hi.", speaker=2)))
    assert (
        render_text(transcript, timestamps=True)
        == "[00:00:01] Speaker 1: Hello.\n[00:00:02] Speaker 2: Hi.\n"
    )


def test_separate_channels_interleave_by_time_with_a_channel_tag() -> None:
    transcript = Transcript(
        phrases=(
            phrase(1, "Agent.", channel=0),
            phrase(3, "Agent again.", channel=0),
            phrase(2, "Caller.", channel=1),
        )
    )
    assert render_text(transcript) == "[ch0] Agent.\n[ch1] Caller.\n[ch0] Agent again.\n"


def test_line_breaks_inside_a_phrase_never_split_it_and_empty_phrases_are_dropped() -> None:
    transcript = Transcript(phrases=(phrase(1, "one\ntwo  three"), phrase(2, "   ")))
    assert render_text(transcript) == "one two three\n"


def test_no_speech_is_an_empty_file() -> None:
    assert render_text(Transcript()) == ""
