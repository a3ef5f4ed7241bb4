"""The ``.srt`` and ``.vtt`` outputs: readable cues timed by the recognizer.

Each phrase becomes one cue, or several when it is too long to read: a cue holds at most
``max_lines`` lines of about ``max_line_chars`` characters and lasts at most ``max_cue_s``. Lines
break only between words (a single word longer than a line keeps a line of its own). A split
phrase's time is shared by its word timings when there are any, otherwise in proportion to the
characters; the pieces follow one another without gaps (unless a single word would outlast a
cue: its cue is cut at ``max_cue_s``). Times are the recognizer's offsets,
rounded to the millisecond.

Cues never overlap: when speech overlaps (channels recognized separately, cross-talk), a cue ends
where the next one starts; two cues starting at the same millisecond share that time.

Both formats get the same cues. Speakers are labelled when diarized, channels when there are
several (see ``labels``): ``[ch1] Speaker 2: `` before the first line in SRT (counted in the line
length), a ``<v ch1 Speaker 2>`` voice span in VTT. VTT text is escaped (``&``, ``<``, ``>``);
SRT has no escapes, so ``-->`` in text (which would read as a timing line) becomes ``->``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from batchscribe.engines.base import TICKS_PER_SECOND, Phrase, Transcript
from batchscribe.outputs.labels import has_several_channels, text_prefix, voice_name
from batchscribe.outputs.timefmt import milliseconds, srt_time, vtt_time


@dataclass(frozen=True)
class CueLimits:
    max_line_chars: int = 42
    max_lines: int = 2
    max_cue_s: float = 7.0

    @property
    def max_cue_ticks(self) -> int:
        return round(self.max_cue_s * TICKS_PER_SECOND)


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]  # the words, without the label
    label: str = ""  # the SRT prefix of the first line, e.g. "Speaker 2: "
    voice: str | None = None  # the VTT voice, e.g. "Speaker 2"


def build_cues(transcript: Transcript, limits: CueLimits = CueLimits()) -> tuple[Cue, ...]:
    phrases = sorted(transcript.phrases, key=lambda p: (p.offset_ticks, p.channel))
    tag_channel = has_several_channels(phrases)
    cues: list[Cue] = []
    for phrase in phrases:
        cues.extend(_phrase_cues(phrase, limits, tag_channel=tag_channel))
    return _without_overlaps(cues)


def render_srt(transcript: Transcript, limits: CueLimits = CueLimits()) -> str:
    blocks = []
    for index, cue in enumerate(build_cues(transcript, limits), start=1):
        lines = [line.replace("-->", "->") for line in cue.lines]
        lines[0] = cue.label.replace("-->", "->") + lines[0]
        timing = f"{srt_time(cue.start_ms)} --> {srt_time(cue.end_ms)}"
        blocks.append(f"{index}\n{timing}\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)


def render_vtt(transcript: Transcript, limits: CueLimits = CueLimits()) -> str:
    blocks = ["WEBVTT\n\n"]
    for cue in build_cues(transcript, limits):
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.voice:
            lines[0] = f"<v {_vtt_escape(cue.voice)}>{lines[0]}"
        timing = f"{vtt_time(cue.start_ms)} --> {vtt_time(cue.end_ms)}"
        blocks.append(f"{timing}\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _phrase_cues(phrase: Phrase, limits: CueLimits, *, tag_channel: bool) -> list[Cue]:
    tokens = phrase.display.split()
    if not tokens:
        return []
    label = text_prefix(phrase, tag_channel=tag_channel)
    voice = voice_name(phrase, tag_channel=tag_channel)
    budgets = _line_budgets(limits, len(label))
    times = _token_times(phrase, tokens, by_words=True)
    chunks = _chunks(tokens, times, budgets, limits.max_cue_ticks)
    starts_ms = [milliseconds(times[first]) for first, _ in chunks]
    if any(a >= b for a, b in pairwise(starts_ms)):
        # The word timings do not separate the pieces (display and lexical words differ too
        # much); share the time by characters instead, which always moves forward.
        times = _token_times(phrase, tokens, by_words=False)
        chunks = _chunks(tokens, times, budgets, limits.max_cue_ticks)
    cues = []
    for first, last in chunks:
        start, end = times[first], times[last + 1]
        end = min(end, start + limits.max_cue_ticks)  # one very long word still ends in time
        lines = _layout(tokens[first : last + 1], budgets)
        cues.append(Cue(milliseconds(start), milliseconds(end), tuple(lines), label, voice))
    return cues


def _line_budgets(limits: CueLimits, label_chars: int) -> list[int]:
    first = max(limits.max_line_chars - label_chars, 1)
    return [first] + [limits.max_line_chars] * (limits.max_lines - 1)


def _token_times(phrase: Phrase, tokens: Sequence[str], *, by_words: bool) -> list[int]:
    """Start time of every token, then the phrase end: non-decreasing, inside the phrase."""
    start, end = phrase.offset_ticks, max(phrase.end_ticks, phrase.offset_ticks)
    total_chars = sum(len(t) for t in tokens) + len(tokens) - 1
    words = phrase.words if by_words else ()
    times = []
    chars_before = 0
    for index, token in enumerate(tokens):
        share = chars_before / total_chars
        if words and len(words) == len(tokens):
            time = words[index].offset_ticks
        elif words:
            time = _word_time_at(phrase, share)
        else:
            time = start + (end - start) * chars_before // total_chars
        times.append(time)
        chars_before += len(token) + 1
    times[0] = start
    times.append(end)
    clamped: list[int] = []
    for time in times:
        clamped.append(min(max(time, clamped[-1] if clamped else start), end))
    return clamped


def _word_time_at(phrase: Phrase, share: float) -> int:
    """Start of the first recognized word at or after ``share`` of the lexical characters."""
    total = sum(len(w.word) + 1 for w in phrase.words)
    chars_before = 0
    for word in phrase.words:
        if chars_before >= share * total:
            return word.offset_ticks
        chars_before += len(word.word) + 1
    return phrase.end_ticks


def _chunks(
    tokens: Sequence[str], times: Sequence[int], budgets: Sequence[int], max_ticks: int
) -> list[tuple[int, int]]:
    """(first, last) token ranges: as few cues as the limits allow, of even length, ending at
    punctuation where possible (a stub of two words after a full cue is hard to read)."""
    count = len(tokens)
    max_chars = sum(budgets) + len(budgets)
    # best[i]: (cues, unevenness) of the best split of tokens[:i], and where its last cue starts.
    best: list[tuple[tuple[int, int], int]] = [((0, 0), 0)] + [((count + 1, 0), 0)] * count
    for end in range(1, count + 1):
        chars = -1
        for first in range(end - 1, -1, -1):
            chars += len(tokens[first]) + 1
            single = first == end - 1  # one token always makes a cue, however long
            if not single and (
                chars > max_chars
                or times[end] - times[first] > max_ticks
                or len(_greedy_lines(tokens[first:end], budgets)) > len(budgets)
            ):
                break
            cues, unevenness = best[first][0]
            cost = (cues + 1, unevenness + chars * chars + _break_penalty(tokens[end - 1], end == count))
            if cost < best[end][0]:
                best[end] = (cost, first)
    chunks = []
    end = count
    while end > 0:
        first = best[end][1]
        chunks.append((first, end - 1))
        end = first
    return chunks[::-1]


def _break_penalty(last_token: str, is_last: bool) -> int:
    if is_last or last_token.endswith((".", "?", "!")):
        return 0
    return 200 if last_token.endswith((",", ";", ":")) else 800


def _greedy_lines(tokens: Sequence[str], budgets: Sequence[int]) -> list[str]:
    lines: list[str] = []
    for token in tokens:
        budget = budgets[min(len(lines) - 1, len(budgets) - 1)] if lines else budgets[0]
        if lines and len(lines[-1]) + 1 + len(token) <= budget:
            lines[-1] += " " + token
        else:
            lines.append(token)
    return lines


def _layout(tokens: Sequence[str], budgets: Sequence[int]) -> list[str]:
    """Lines for one cue; two lines are balanced rather than a full line and a stub."""
    greedy = _greedy_lines(tokens, budgets)
    if len(greedy) != 2 or len(budgets) < 2:
        return greedy
    best = greedy
    for split in range(1, len(tokens)):
        top, bottom = " ".join(tokens[:split]), " ".join(tokens[split:])
        fits = len(top) <= budgets[0] and len(bottom) <= budgets[1]
        if fits and max(len(top), len(bottom)) < max(len(best[0]), len(best[1])):
            best = [top, bottom]
    return best


def _without_overlaps(cues: list[Cue]) -> tuple[Cue, ...]:
    ordered = sorted(cues, key=lambda c: c.start_ms)  # stable: a phrase's pieces stay in order
    fixed: list[Cue] = []
    for cue in ordered:
        if fixed and cue.start_ms < fixed[-1].end_ms:
            previous = fixed[-1]
            if cue.start_ms <= previous.start_ms:
                shared_end = min(previous.end_ms, cue.end_ms)
                cue = replace(cue, start_ms=previous.start_ms + max((shared_end - previous.start_ms) // 2, 1))
            fixed[-1] = replace(previous, end_ms=cue.start_ms)
        if cue.end_ms <= cue.start_ms:  # a zero-length phrase still shows, for a millisecond
            cue = replace(cue, end_ms=cue.start_ms + 1)
        fixed.append(cue)
    return tuple(fixed)
