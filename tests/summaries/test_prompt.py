"""What is sent and what must come back: the transcript's text, its parts, the answer checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchscribe.errors import SummaryError
from batchscribe.summaries.prompt import (
    CHARS_PER_TOKEN,
    MIN_PART_TOKENS,
    estimate_tokens,
    parse_answer,
    split_parts,
    transcript_text,
)


def phrase(text: str, **extra: object) -> dict[str, object]:
    return {"nBest": [{"display": text}], **extra}


def test_speakers_are_named_on_each_line() -> None:
    document = {"recognizedPhrases": [phrase("Hello.", speaker=1), phrase("Hi there.", speaker=2)]}
    assert transcript_text(document) == "Speaker 1: Hello.\nSpeaker 2: Hi there."


def test_channels_are_named_when_there_are_several() -> None:
    document = {"recognizedPhrases": [phrase("Agent.", channel=0), phrase("Customer.", channel=1)]}
    assert transcript_text(document) == "Channel 0: Agent.\nChannel 1: Customer."


def test_one_voice_is_plain_text_and_a_simple_transcript_uses_the_combined_text() -> None:
    assert transcript_text({"recognizedPhrases": [phrase("One."), phrase("Two.")]}) == "One.\nTwo."
    assert (
        transcript_text({"recognizedPhrases": [], "combinedRecognizedPhrases": [{"display": "All."}]})
        == "All."
    )
    assert transcript_text({"recognizedPhrases": []}) == ""


@given(
    st.lists(st.text(alphabet=st.sampled_from("ab cd\n"), min_size=0, max_size=3000), min_size=1, max_size=5),
    st.integers(MIN_PART_TOKENS, 600),
)
def test_parts_hold_every_character_once_and_each_fits(pieces: list[str], max_tokens: int) -> None:
    text = "\n".join(pieces)
    parts = split_parts(text, max_tokens)
    assert all(len(p) <= max_tokens * CHARS_PER_TOKEN for p in parts)
    # cut between lines (the newline dropped) or between words (the spaces at the cut dropped)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_a_short_transcript_is_one_part_and_a_long_one_several() -> None:
    line = "word " * 40
    assert split_parts(line, 1000) == [line]
    long = "\n".join([line] * 200)  # ~40,000 characters, ~10,000 tokens
    parts = split_parts(long, 1000)
    assert len(parts) == 11 and all(estimate_tokens(p) <= 1000 for p in parts)


def test_a_context_too_small_for_any_part_is_an_error_not_a_cut() -> None:
    with pytest.raises(SummaryError, match="leaves 10 tokens") as caught:
        split_parts("some text", 10)
    assert "--openai-context-tokens" in caught.value.hint


def test_the_answer_must_be_the_json_asked_for() -> None:
    answer = parse_answer('{"summary": " A call. ", "action_items": ["Send it"], "topics": "billing"}')
    assert (answer.summary, answer.action_items, answer.topics) == ("A call.", ("Send it",), ("billing",))
    for content, why in [
        ("Sure! Here is a summary", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"action_items": []}', 'no "summary"'),
        ('{"summary": "x", "topics": [1]}', '"topics" is not a list of strings'),
        (None, "not JSON"),
    ]:
        with pytest.raises(SummaryError, match=why) as caught:
            parse_answer(content)
        assert caught.value.transient and caught.value.code == "invalid_answer"
