"""SRT and WebVTT: valid by their rules (parsed back with srt and webvtt-py), readable cues."""

from __future__ import annotations

import io
import random
import re
from itertools import pairwise

import pytest
import srt
import webvtt

from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.outputs.subtitles import CueLimits, build_cues, render_srt, render_vtt

SECOND = 10_000_000
LIMITS = CueLimits()


def parse_srt(text: str) -> list[tuple[int, int, str]]:
    return [
        (s.start // srt.timedelta(milliseconds=1), s.end // srt.timedelta(milliseconds=1), s.content)
        for s in srt.parse(text)
    ]


def vtt_ms(clock: str) -> int:
    hours, minutes, seconds = clock.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def parse_vtt(text: str) -> list[tuple[int, int, str, str | None]]:
    return [
        (vtt_ms(c.start), vtt_ms(c.end), c.text, c.voice)
        for c in webvtt.from_buffer(io.StringIO(text)).captions
    ]


LABEL = re.compile(r"^(\[ch\d+\] )?(Speaker \d+: )?")


def assert_readable(text_lines: list[str], limits: CueLimits = LIMITS) -> None:
    """At most max_lines lines; a line over the limit holds a single word (never cut)."""
    assert 1 <= len(text_lines) <= limits.max_lines
    for line in text_lines:
        assert len(line) <= limits.max_line_chars or " " not in LABEL.sub("", line), line


def assert_ordered_without_overlap(cues: list[tuple[int, int]]) -> None:
    for start, end in cues:
        assert start < end
    for (_, end), (start, _) in pairwise(cues):
        assert end <= start


def test_short_phrases_become_one_cue_each_at_the_recognizer_times() -> None:
    transcript = Transcript(
        phrases=(
            Phrase(7_600_000, 25_800_000, "Hello, world."),
            Phrase(40_000_000, 12_345_678, "How are you?"),
        )
    )
    assert parse_srt(render_srt(transcript)) == [(760, 3340, "Hello, world."), (4000, 5235, "How are you?")]
    assert parse_vtt(render_vtt(transcript)) == [
        (760, 3340, "Hello, world.", None),
        (4000, 5235, "How are you?", None),
    ]


def test_long_phrase_is_split_into_readable_cues_that_cover_it() -> None:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "again",
        "and",
        "again",
    ] * 6
    phrase = Phrase(10 * SECOND, 30 * SECOND, " ".join(words))
    srt_cues = parse_srt(render_srt(Transcript(phrases=(phrase,))))
    assert len(srt_cues) > 1
    assert srt_cues[0][0] == 10_000 and srt_cues[-1][1] == 40_000
    for (_, end), (start, _) in zip([c[:2] for c in srt_cues], [c[:2] for c in srt_cues[1:]], strict=False):
        assert end == start  # the pieces of one phrase follow without gaps
    for start, end, content in srt_cues:
        assert end - start <= 7000
        assert_readable(content.split("\n"))
    assert " ".join(c[2].replace("\n", " ") for c in srt_cues) == " ".join(words)  # no word cut or lost


def test_a_word_longer_than_a_line_is_kept_whole() -> None:
    url = "https://example.com/" + "x" * 60
    phrase = Phrase(0, 5 * SECOND, f"see {url} now")
    contents = [c[2] for c in parse_srt(render_srt(Transcript(phrases=(phrase,))))]
    assert url in "\n".join(contents).split("\n")


def test_split_follows_word_timings_when_present() -> None:
    tokens = [f"word{n:02d}" for n in range(30)]
    # Speech is slow at first and fast at the end: character shares would be wrong here.
    offsets = [n * 5_000_000 if n < 20 else 100_000_000 + (n - 20) * 1_000_000 for n in range(30)]
    words = tuple(Word(t, o, 1_000_000) for t, o in zip(tokens, offsets, strict=True))
    phrase = Phrase(0, 111_000_000, " ".join(tokens), words=words)
    cues = build_cues(Transcript(phrases=(phrase,)))
    first_tokens = [cue.lines[0].split()[0] for cue in cues]
    for cue, token in zip(cues, first_tokens, strict=True):
        assert cue.start_ms == offsets[tokens.index(token)] // 10_000


def test_split_follows_word_timings_even_when_display_and_lexical_words_differ() -> None:
    display = "It costs $25, said Dr. Smith, " * 6
    lexical = "it costs twenty five dollars said doctor smith " * 6
    words = tuple(Word(w, n * 4_000_000, 3_000_000) for n, w in enumerate(lexical.split()))
    phrase = Phrase(0, words[-1].offset_ticks + 3_000_000, display.strip(), lexical=lexical, words=words)
    cues = build_cues(Transcript(phrases=(phrase,)))
    assert len(cues) > 1
    word_starts_ms = {w.offset_ticks // 10_000 for w in words}
    assert all(cue.start_ms in word_starts_ms for cue in cues)
    assert_ordered_without_overlap([(c.start_ms, c.end_ms) for c in cues])


def test_speaker_labels_in_both_formats() -> None:
    transcript = Transcript(
        phrases=(Phrase(0, SECOND, "Hi.", speaker=2), Phrase(2 * SECOND, SECOND, "Yes.", speaker=1))
    )
    assert [c[2] for c in parse_srt(render_srt(transcript))] == ["Speaker 2: Hi.", "Speaker 1: Yes."]
    assert [(c[2], c[3]) for c in parse_vtt(render_vtt(transcript))] == [
        ("Hi.", "Speaker 2"),
        ("Yes.", "Speaker 1"),
    ]
    assert "<v Speaker 2>Hi." in render_vtt(transcript)


def test_label_counts_toward_the_first_line() -> None:
    text = "aaaa " * 40
    transcript = Transcript(phrases=(Phrase(0, 20 * SECOND, text, speaker=12),))
    for _, _, content in parse_srt(render_srt(transcript)):
        assert all(len(line) <= LIMITS.max_line_chars for line in content.split("\n"))


def test_overlapping_channels_never_give_overlapping_cues() -> None:
    transcript = Transcript(
        phrases=(
            Phrase(0, 5 * SECOND, "Agent speaks for a while.", channel=0),
            Phrase(2 * SECOND, SECOND, "Yeah.", channel=1),
            Phrase(6 * SECOND, 2 * SECOND, "Both at once.", channel=0),
            Phrase(6 * SECOND, 2 * SECOND, "Both at once too.", channel=1),
        )
    )
    srt_cues = parse_srt(render_srt(transcript))
    assert_ordered_without_overlap([c[:2] for c in srt_cues])
    assert [c[2] for c in srt_cues] == [
        "[ch0] Agent speaks for a while.", "[ch1] Yeah.", "[ch0] Both at once.", "[ch1] Both at once too.",
    ]  # fmt: skip
    assert srt_cues[0][:2] == (0, 2000)
    assert [c[3] for c in parse_vtt(render_vtt(transcript))] == ["ch0", "ch1", "ch0", "ch1"]


def test_zero_length_phrase_still_gets_a_valid_cue() -> None:
    transcript = Transcript(phrases=(Phrase(SECOND, 0, "Hm."),))
    assert parse_srt(render_srt(transcript)) == [(1000, 1001, "Hm.")]


def test_vtt_escapes_markup_and_srt_defuses_timing_arrows() -> None:
    transcript = Transcript(phrases=(Phrase(0, SECOND, "a <b> & c --> d"),))
    vtt_text = render_vtt(transcript)
    assert "a &lt;b&gt; &amp; c --&gt; d" in vtt_text
    assert parse_vtt(vtt_text)[0][2] == "a &lt;b&gt; &amp; c --&gt; d"
    assert parse_srt(render_srt(transcript))[0][2] == "a <b> & c -> d"


def test_no_speech_gives_valid_empty_subtitles() -> None:
    assert render_srt(Transcript()) == ""
    assert render_vtt(Transcript()) == "WEBVTT\n\n"
    assert parse_vtt(render_vtt(Transcript())) == []


def random_transcript(rng: random.Random) -> Transcript:
    vocabulary = [
        "a",
        "to",
        "the",
        "speech",
        "recognition",
        "subtitles",
        "Mississippi",
        "x" * 50,
        "okay,",
        "done.",
    ]
    phrases = []
    at = rng.randrange(0, 2 * SECOND)
    for _ in range(rng.randrange(1, 12)):
        tokens = [rng.choice(vocabulary) for _ in range(rng.randrange(1, 60))]
        duration = rng.randrange(1, 40 * SECOND)
        words: tuple[Word, ...] = ()
        if rng.random() < 0.5:
            step = duration // len(tokens)
            words = tuple(Word(t, at + n * step, step) for n, t in enumerate(tokens))
        phrases.append(
            Phrase(
                at,
                duration,
                " ".join(tokens),
                words=words,
                speaker=rng.choice([None, 1, 2]),
                channel=rng.choice([0, 0, 1]),
            )
        )
        at += rng.randrange(-duration // 2, duration + 3 * SECOND)
        at = max(at, 0)
    return Transcript(phrases=tuple(phrases))


@pytest.mark.parametrize("seed", range(40))
def test_generated_transcripts_give_valid_readable_subtitles(seed: int) -> None:
    transcript = random_transcript(random.Random(seed))
    srt_cues = parse_srt(render_srt(transcript))
    vtt_cues = parse_vtt(render_vtt(transcript))
    assert [c[:2] for c in srt_cues] == [c[:2] for c in vtt_cues]
    assert_ordered_without_overlap([c[:2] for c in srt_cues])
    for start, end, content in srt_cues:
        assert end - start <= 7000
        assert_readable(content.split("\n"))
    all_words = [
        w
        for p in sorted(transcript.phrases, key=lambda p: (p.offset_ticks, p.channel))
        for w in p.display.split()
    ]
    shown = [
        w
        for c in srt_cues
        for w in c[2].split()
        if w not in {"[ch0]", "[ch1]", "Speaker"} and not w.endswith(":")
    ]
    assert sorted(shown) == sorted(all_words)
