"""Chunk transcripts stitched back into one file transcript (batchscribe.engines.stitch)."""

from __future__ import annotations

import itertools

import pytest

from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.engines.stitch import TOUCH_TICKS, ChunkTranscript, stitch

S = 10_000_000  # ticks per second


def phrase(at: float, end: float, text: str, *, channel: int = 0, status: str = "Success",
           confidence: float | None = 0.9) -> Phrase:  # fmt: skip
    """A phrase over [at, end) seconds whose words share the span evenly."""
    tokens = text.split()
    step = (end - at) / max(1, len(tokens))
    words = tuple(Word(t, round((at + i * step) * S), round(step * S), 0.8) for i, t in enumerate(tokens))
    return Phrase(round(at * S), round((end - at) * S), text, lexical=text.lower(), itn=text.lower(),
                  masked_itn=text.lower(), confidence=confidence, words=words, channel=channel, status=status)  # fmt: skip


def chunk(start: float, end: float, *phrases: Phrase, warnings: tuple[str, ...] = ()) -> ChunkTranscript:
    return ChunkTranscript(round(start * S), round(end * S), Transcript(tuple(phrases), warnings))


def spans(transcript: Transcript) -> list[tuple[float, float, str]]:
    return [(p.offset_ticks / S, p.end_ticks / S, p.display) for p in transcript.phrases]


def test_phrases_and_words_move_to_file_time() -> None:
    result = stitch([
        chunk(0, 60, phrase(1, 3, "One two."), phrase(50, 58, "Three.")),
        chunk(60, 130, phrase(0.5, 2, "Four five six."), warnings=("chunk 2 was retried",)),
        chunk(130, 200, phrase(10, 12, "Seven.")),
    ])  # fmt: skip
    assert spans(result) == [(1, 3, "One two."), (50, 58, "Three."), (60.5, 62, "Four five six."),
                             (140, 142, "Seven.")]  # fmt: skip
    words = [(w.word, w.offset_ticks / S) for p in result.phrases for w in p.words]
    assert words[3:6] == [("Four", 60.5), ("five", 61.0), ("six.", 61.5)]
    assert result.text == "One two. Three. Four five six. Seven."
    assert result.warnings == ("chunk 2 was retried",)


def test_chunks_in_any_order_give_the_same_transcript() -> None:
    chunks = [chunk(0, 10, phrase(1, 2, "A.")), chunk(10, 20, phrase(1, 2, "B.")), chunk(20, 25)]
    assert stitch(chunks[::-1]) == stitch(chunks)


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([chunk(0, 10), chunk(12, 20)], "chunk 1 starts at 120000000 ticks, not where chunk 0 ends"),
        ([chunk(0, 10), chunk(9, 20)], "chunks must tile the file"),
        ([chunk(5, 4)], "chunk 0 spans"),
    ],
)
def test_chunks_that_do_not_tile_the_file_are_refused(chunks: list[ChunkTranscript], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stitch(chunks)


def test_speech_through_a_cut_becomes_one_phrase_with_every_word_once() -> None:
    first = phrase(55, 60, "the quarterly fig", confidence=0.9)
    second = phrase(0, 2, "ures are good", confidence=0.6)
    result = stitch(
        [chunk(0, 60, phrase(10, 12, "Hello."), first), chunk(60, 90, second, phrase(5, 6, "Bye."))]
    )
    assert spans(result) == [
        (10, 12, "Hello."),
        (55, 62, "the quarterly fig ures are good"),
        (65, 66, "Bye."),
    ]
    joined = result.phrases[1]
    assert [w.word for w in joined.words] == ["the", "quarterly", "fig", "ures", "are", "good"]
    assert joined.lexical == "the quarterly fig ures are good"
    assert joined.confidence == pytest.approx((0.9 * 5 + 0.6 * 2) / 7)


def test_an_end_rounded_past_the_cut_is_clamped_and_does_not_overlap() -> None:
    late = Phrase(59 * S, S + 3_000, "Late.", words=(Word("late", 59 * S, S + 3_000),))
    result = stitch([chunk(0, 60, late), chunk(60, 70, phrase(1, 2, "Next."))])
    assert [p.end_ticks for p in result.phrases] == [60 * S, 62 * S]
    assert result.phrases[0].words[0].duration_ticks == S


@pytest.mark.parametrize(
    ("head", "tail", "joined"),
    [
        (phrase(58, 60, "a"), phrase(0.2, 1, "b"), False),  # a pause at the cut: two phrases
        (phrase(58, 59.8, "a"), phrase(0, 1, "b"), False),
        (phrase(58, 60, "a", status="NoMatch"), phrase(0, 1, "b"), False),
        (phrase(58, 60, "a"), phrase(0, 1, "b", channel=1), False),  # other channel
        (phrase(58, 59.995, "a"), phrase(0.005, 1, "b"), True),
    ],
)
def test_only_phrases_touching_the_cut_on_one_channel_are_joined(
    head: Phrase, tail: Phrase, joined: bool
) -> None:
    result = stitch([chunk(0, 60, head), chunk(60, 70, tail)])
    assert len(result.phrases) == (1 if joined else 2)
    assert [w.word for p in result.phrases for w in p.words] == ["a", "b"]


def test_channels_keep_their_own_phrases_and_time_order() -> None:
    result = stitch([
        chunk(0, 30, phrase(1, 2, "L1", channel=0), phrase(1.5, 3, "R1", channel=1)),
        chunk(30, 60, phrase(0, 1, "R2", channel=1), phrase(0.5, 2, "L2", channel=0)),
    ])  # fmt: skip
    assert [(p.display, p.channel) for p in result.phrases] == [("L1", 0), ("R1", 1), ("R2", 1), ("L2", 0)]


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def session_and_cuts(draw: st.DrawFn) -> tuple[Transcript, list[int], int]:
    """A single-session transcript, and cut points in pauses (>= 0.3 s) between its phrases."""
    phrases: list[Phrase] = []
    cuts: list[int] = []
    at = draw(st.integers(0, 5 * S))
    for n in range(draw(st.integers(0, 12))):
        if phrases:
            gap = draw(st.integers(3 * S // 10, 20 * S))
            if draw(st.booleans()):
                cuts.append(phrases[-1].end_ticks + draw(st.integers(TOUCH_TICKS + 1, gap - TOUCH_TICKS - 1)))
            at = phrases[-1].end_ticks + gap
        words = tuple(Word(f"w{n}-{k}", at + k * S // 4, S // 4) for k in range(draw(st.integers(1, 6))))
        phrases.append(Phrase(at, len(words) * S // 4, f"phrase {n}", words=words))
    end = (phrases[-1].end_ticks if phrases else at) + draw(st.integers(0, 3 * S))
    return Transcript(tuple(phrases)), cuts, end


def _chunk_of(session: Transcript, start: int, end: int) -> ChunkTranscript:
    def local(p: Phrase) -> Phrase:
        words = tuple(Word(w.word, w.offset_ticks - start, w.duration_ticks) for w in p.words)
        return Phrase(p.offset_ticks - start, p.duration_ticks, p.display, words=words)

    inside = tuple(local(p) for p in session.phrases if start <= p.offset_ticks < end)
    return ChunkTranscript(start, end, Transcript(inside))


@given(session_and_cuts())
def test_a_session_cut_in_its_pauses_and_stitched_back_is_unchanged(
    case: tuple[Transcript, list[int], int],
) -> None:
    session, cuts, end = case
    edges = [0, *cuts, end]
    chunks = [_chunk_of(session, a, b) for a, b in itertools.pairwise(edges)]
    assert stitch(chunks) == session
