"""Property tests: any transcript gives subtitles that parse back with the recognizer's times."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")  # a dev tool; the seeded cases in test_subtitles always run

import srt  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from batchscribe.engines.base import Phrase, Transcript  # noqa: E402
from batchscribe.outputs.subtitles import CueLimits, render_srt  # noqa: E402
from batchscribe.outputs.timefmt import milliseconds  # noqa: E402

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéßø0123456789,.?!'-", min_size=1, max_size=24)
LIMITS = CueLimits()


@st.composite
def sequential_transcripts(draw: st.DrawFn) -> Transcript:
    """Phrases on one channel that do not overlap (as one recognizer session returns them)."""
    phrases = []
    at = draw(st.integers(0, 50_000_000))
    for _ in range(draw(st.integers(1, 6))):
        tokens = draw(st.lists(WORD, min_size=1, max_size=50))
        duration = draw(st.integers(len(tokens) * 20_000, 60 * 10_000_000))
        speaker = draw(st.one_of(st.none(), st.integers(1, 12)))
        phrases.append(Phrase(at, duration, " ".join(tokens), speaker=speaker))
        at += duration + draw(st.integers(20_000, 30_000_000))
    return Transcript(phrases=tuple(phrases))


@settings(max_examples=150, deadline=None)
@given(sequential_transcripts())
def test_cues_start_at_phrase_offsets_and_respect_the_limits(transcript: Transcript) -> None:
    cues = list(srt.parse(render_srt(transcript)))
    starts = [c.start // srt.timedelta(milliseconds=1) for c in cues]
    ends = [c.end // srt.timedelta(milliseconds=1) for c in cues]
    for phrase in transcript.phrases:
        start, end = milliseconds(phrase.offset_ticks), milliseconds(phrase.end_ticks)
        assert start in starts
        mine = [n for n, s in enumerate(starts) if start <= s < end]
        assert ends[mine[-1]] <= end
        for n in mine[:-1]:  # pieces follow without gaps, unless one word outlasts a whole cue
            assert ends[n] == starts[n + 1] or ends[n] - starts[n] == 7000
    for start, end, cue in zip(starts, ends, cues, strict=True):
        assert 0 < end - start <= 7000
        lines = cue.content.split("\n")
        assert len(lines) <= LIMITS.max_lines
        for line in lines:
            words = line.split(": ", 1)[-1] if line.startswith("Speaker ") else line
            assert len(line) <= LIMITS.max_line_chars or " " not in words
    shown = " ".join(
        line.split(": ", 1)[-1] if line.startswith("Speaker ") else line
        for c in cues
        for line in c.content.split("\n")
    )
    assert shown.split() == [w for p in transcript.phrases for w in p.display.split()]
