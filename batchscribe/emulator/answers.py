"""What the emulator says for each live segment of a session's recording.

A scripted recording's phrases are handed to the segments they fall in (by the ``start`` the
script stored, in seconds from the start of the recording); untimed phrases go one per segment.
A session that sends a stretch of the recording (a chunk) starts ``offset`` seconds into it: its
segments get the phrases of that stretch only, each said where it falls in the session's audio.
Unscripted audio gets placeholder words drawn from a hash of the recording's fingerprint and the
segment's start, so the same audio always gets the same text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from batchscribe.emulator.scripts import ScriptEntry, ScriptPhrase

WORDS_PER_SECOND = 2.5
EDGE_S = 0.06  # how far before a located stretch's first sample a phrase may start and be its own
_VOCABULARY = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "amber",
    "basil",
    "cedar",
    "dune",
    "ember",
    "fern",
    "granite",
    "harbor",
    "island",
    "jasper",
    "kettle",
    "lantern",
    "meadow",
    "nectar",
    "orchard",
    "pebble",
    "quartz",
    "river",
    "saffron",
    "timber",
    "umber",
    "valley",
    "willow",
    "yarrow",
    "zephyr",
)


@dataclass(frozen=True)
class Answer:
    """The text of one recognized phrase and what goes with it."""

    text: str
    speaker: str | None = None
    language: str | None = None
    confidence: float | None = None
    words: tuple[str, ...] | None = None
    placeholder: bool = False  # made-up words: the recording has no script


def _join(phrases: list[ScriptPhrase]) -> Answer | None:
    texts = [p.text for p in phrases if p.text.strip()]
    if not texts:
        return None
    first = phrases[0]
    words: tuple[str, ...] | None = None
    if any(p.words is not None for p in phrases):
        words = tuple(w for p in phrases for w in (p.words or tuple(p.text.split())))
    return Answer(" ".join(texts), first.speaker, first.language, first.confidence, words)


class Answerer:
    """Answers for one session; ``key`` names the recording (script id or fingerprint digest)."""

    def __init__(self, key: str, entry: ScriptEntry | None, offset: float = 0.0) -> None:
        self.key = key
        self.entry = entry
        self.offset = offset  # seconds into the recording where the session's audio starts
        self._next_untimed = 0  # survives reconnects: the session keeps its Answerer

    @property
    def scripted(self) -> bool:
        return self.entry is not None

    def final(self, lower: float, start: float, end: float, *, last: bool) -> Answer | None:
        """The answer for a segment [start, end) whose predecessor ended at ``lower`` (seconds).

        ``last`` gives the segment everything of the script not yet said.
        """
        if self.entry is None:
            return self._placeholder(start, end - start)
        if self.entry.timed:
            return _join(self._timed(lower, end, last=last))
        phrases = self.entry.phrases
        upto = len(phrases) if last else min(len(phrases), self._next_untimed + 1)
        chosen = list(phrases[self._next_untimed : upto])
        self._next_untimed = upto
        return _join(chosen)

    def partial(self, lower: float, start: float, at: float) -> str:
        """Hypothesis text for a segment that started at ``start`` and is still going at ``at``."""
        elapsed = at - start
        if self.entry is None:
            answer = self._placeholder(start, max(elapsed, 0.4))
            return answer.text.rstrip(".") if answer else ""
        if self.entry.timed:
            chosen = self._timed(lower, at, last=False)
            full = _join(chosen)
            if full is None:
                return ""
            span = max((p.end or at + self.offset) for p in chosen) - self.offset - start
            fraction = min(1.0, elapsed / span) if span > 0 else 1.0
            return _prefix(full.text, fraction)
        if self._next_untimed >= len(self.entry.phrases):
            return ""
        text = self.entry.phrases[self._next_untimed].text
        words = text.split()
        count = min(len(words), max(1, round(elapsed * WORDS_PER_SECOND)))
        return " ".join(words[:count])

    def _timed(self, lower: float, upper: float, *, last: bool) -> list[ScriptPhrase]:
        """The phrases starting in [lower, upper) of the session's audio (seconds); ``last``: up to
        the recording's end if the session reaches it, else to the end of its stretch."""
        assert self.entry is not None
        low, high = lower + self.offset, upper + self.offset
        if lower <= 0.0 < self.offset:
            low -= EDGE_S  # the stretch's start is known to a window or so
        to_the_end = last and high >= self.entry.duration - max(0.3, 0.02 * self.entry.duration)
        return [
            p
            for p in self.entry.phrases
            if p.start is not None and p.start >= low and (to_the_end or p.start < high)
        ]

    def _placeholder(self, start: float, duration: float) -> Answer:
        seed = hashlib.sha256(f"{self.key}:{round(start * 10)}".encode()).digest()
        count = max(1, min(len(seed), round(duration * WORDS_PER_SECOND)))
        words = [_VOCABULARY[b % len(_VOCABULARY)] for b in seed[:count]]
        return Answer((" ".join(words)).capitalize() + ".", placeholder=True)


def _prefix(text: str, fraction: float) -> str:
    words = text.split()
    return " ".join(words[: max(1, round(len(words) * fraction))])
