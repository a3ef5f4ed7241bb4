"""One file's transcript from the transcripts of its chunks, each recognized in its own session.

A long recording is cut into chunks in pauses (``audio.silence``); each chunk's session returns
phrase and word offsets relative to the chunk's first sample. ``stitch`` shifts them by the
chunk's start to file time and returns one ``Transcript`` of the same shape a single session
gives: phrases in time order, offsets non-decreasing, nothing lost or doubled.

Chunks tile the file (each starts where the previous one ends), so every phrase was heard by
exactly one session and belongs to it. Two guards cover what a cut outside a pause could do
(the silence finder's fallback when no pause is near a target):

- a phrase or word reaching past its chunk's end (the service rounds ends up to whole
  milliseconds) is clamped to the chunk, so it never overlaps the next chunk's first phrase;
- speech running through a cut comes back as a phrase ending at the cut and one starting there
  (within ``TOUCH_TICKS``); they are joined into one phrase, as a single session would have
  returned it, keeping every word of both once.

Warnings of all chunks are kept, once each, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from batchscribe.engines.base import Phrase, Transcript, Word

TOUCH_TICKS = 100_000  # 10 ms: a phrase this close to a cut on both sides is speech through it


@dataclass(frozen=True)
class ChunkTranscript:
    """One chunk's session result and where the chunk lies in the file, in 100-ns ticks."""

    start_ticks: int
    end_ticks: int
    transcript: Transcript


def _shift_word(word: Word, start: int, end: int) -> Word:
    offset = min(max(word.offset_ticks + start, start), end)
    return replace(word, offset_ticks=offset, duration_ticks=max(0, min(word.duration_ticks, end - offset)))


def _shift(phrase: Phrase, start: int, end: int) -> Phrase:
    """``phrase`` in file time, clamped inside its chunk [start, end)."""
    offset = min(max(phrase.offset_ticks + start, start), end)
    duration = max(0, min(phrase.duration_ticks, end - offset))
    words = tuple(_shift_word(w, start, end) for w in phrase.words)
    return replace(phrase, offset_ticks=offset, duration_ticks=duration, words=words)


def _join_text(first: str, second: str) -> str:
    return " ".join(t for t in (first.strip(), second.strip()) if t)


def _join(first: Phrase, second: Phrase) -> Phrase:
    """One phrase from two halves of speech cut in two (same channel, in time order)."""
    confidence = first.confidence
    if first.confidence is not None and second.confidence is not None:
        total = first.duration_ticks + second.duration_ticks
        weights = (first.duration_ticks, second.duration_ticks) if total else (1, 1)
        confidence = (first.confidence * weights[0] + second.confidence * weights[1]) / sum(weights)
    elif confidence is None:
        confidence = second.confidence
    return replace(
        first,
        duration_ticks=second.end_ticks - first.offset_ticks,
        display=_join_text(first.display, second.display),
        lexical=_join_text(first.lexical, second.lexical),
        itn=_join_text(first.itn, second.itn),
        masked_itn=_join_text(first.masked_itn, second.masked_itn),
        confidence=confidence,
        words=first.words + second.words,
    )


def _check_tiling(chunks: Sequence[ChunkTranscript]) -> None:
    for index, chunk in enumerate(chunks):
        if chunk.start_ticks < 0 or chunk.end_ticks < chunk.start_ticks:
            raise ValueError(f"chunk {index} spans {chunk.start_ticks}..{chunk.end_ticks} ticks")
        if index and chunk.start_ticks != chunks[index - 1].end_ticks:
            raise ValueError(
                f"chunk {index} starts at {chunk.start_ticks} ticks, not where chunk {index - 1} "
                f"ends ({chunks[index - 1].end_ticks}): chunks must tile the file"
            )


def stitch(chunks: Sequence[ChunkTranscript]) -> Transcript:
    """The file's transcript from its chunks' (given in any order; they must tile the file)."""
    ordered = sorted(chunks, key=lambda c: c.start_ticks)
    _check_tiling(ordered)
    phrases: list[Phrase] = []
    warnings: dict[str, None] = {}
    for index, chunk in enumerate(ordered):
        warnings.update(dict.fromkeys(chunk.transcript.warnings))
        start, end = chunk.start_ticks, chunk.end_ticks
        shifted = sorted(
            (_shift(p, start, end) for p in chunk.transcript.phrases),
            key=lambda p: (p.offset_ticks, p.channel),
        )
        if index:
            shifted = _join_at_cut(phrases, shifted, start)
        phrases.extend(shifted)
    return Transcript(phrases=tuple(phrases), warnings=tuple(warnings))


def _join_at_cut(before: list[Phrase], after: list[Phrase], cut: int) -> list[Phrase]:
    """Join, per channel, the phrase ending at ``cut`` with the one starting there.

    ``before`` is edited in place (its last phrase on the channel grows); the phrases of
    ``after`` that were joined are left out of what is returned.
    """
    joined: set[int] = set()
    for channel in {p.channel for p in after}:
        first = next((i for i, p in enumerate(after) if p.channel == channel), None)
        last = next((i for i in range(len(before) - 1, -1, -1) if before[i].channel == channel), None)
        if first is None or last is None:
            continue
        head, tail = before[last], after[first]
        if (
            head.status == tail.status == "Success"
            and head.end_ticks >= cut - TOUCH_TICKS
            and tail.offset_ticks <= cut + TOUCH_TICKS
            and head.speaker == tail.speaker
        ):
            before[last] = _join(head, tail)
            joined.add(first)
    return [p for i, p in enumerate(after) if i not in joined]
