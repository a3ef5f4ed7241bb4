"""What is sent to the model: the transcript as text, split into parts that fit the deployment's
context, and the chat messages around it; and what must come back (``parse_answer``).

Tokens are estimated at about four characters each (no tokenizer dependency); the estimate
leaves room for the instructions and the answer, and a part the service still finds too long is
split again (``summarize.py``), so nothing is ever cut off silently.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchscribe.errors import SummaryError

CHARS_PER_TOKEN = 4
ANSWER_TOKENS = 1_000  # room kept for the model's answer (max_tokens asked)
MIN_PART_TOKENS = 200  # below this a transcript is not split further: the context is misconfigured
MAX_ITEMS = 20  # action items or topics kept from one answer
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Answer:
    """What the model said, checked: the keys the prompt asks for."""

    summary: str
    action_items: tuple[str, ...]
    topics: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"summary": self.summary, "action_items": list(self.action_items), "topics": list(self.topics)}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def transcript_text(document: Mapping[str, Any]) -> str:
    """The display text of a transcript JSON (Azure's batch shape), one phrase a line, with its
    speaker or channel when the transcript has several."""
    phrases = document.get("recognizedPhrases") or []
    speakers = {p.get("speaker") for p in phrases if isinstance(p, Mapping)} - {None}
    channels = {p.get("channel", 0) for p in phrases if isinstance(p, Mapping)}
    lines = []
    for phrase in phrases:
        if not isinstance(phrase, Mapping) or not phrase.get("nBest"):
            continue
        text = str(phrase["nBest"][0].get("display", "")).strip()
        if not text:
            continue
        who = (
            f"Speaker {phrase['speaker']}: " if speakers and phrase.get("speaker") is not None
            else f"Channel {phrase.get('channel', 0)}: " if len(channels) > 1 else ""
        )  # fmt: skip
        lines.append(who + text)
    if not lines:  # a simple transcript without phrases: the combined text
        combined = document.get("combinedRecognizedPhrases") or []
        lines = [str(c.get("display", "")).strip() for c in combined if isinstance(c, Mapping)]
    return "\n".join(line for line in lines if line)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_budget(prompt: str, context_tokens: int) -> int:
    """Tokens of transcript that fit in one request beside the prompt and the answer's room."""
    return context_tokens - estimate_tokens(prompt) - ANSWER_TOKENS - 50


def split_parts(text: str, max_tokens: int) -> list[str]:
    """``text`` in consecutive parts of at most ``max_tokens`` (estimated), cut between lines,
    and within a line too long on its own between words: every character is in exactly one part."""
    if max_tokens < MIN_PART_TOKENS:
        raise SummaryError(
            f"the deployment's context leaves {max(max_tokens, 0)} tokens for the transcript",
            code="context_too_small",
            hint="give --openai-context-tokens the deployment's context size, or a shorter --summary-prompt",
        )
    limit = max_tokens * CHARS_PER_TOKEN
    parts: list[str] = []
    current = ""
    for line in _pieces(text, limit):
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit and current:
            parts.append(current)
            joined = line
        current = joined
    if current or not parts:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        pieces.append(line)
    return pieces


def messages(prompt: str, text: str, *, part: int = 0, parts: int = 1) -> list[dict[str, str]]:
    """The chat messages for one transcript, one of its parts, or the parts' summaries (``part=-1``)."""
    if part < 0:
        intro = f"Summaries of the {parts} consecutive parts of one recording, as JSON lines:"
    elif parts > 1:
        intro = f"Part {part + 1} of {parts} of the transcript of one recording:"
    else:
        intro = "The transcript:"
    return [{"role": "system", "content": prompt}, {"role": "user", "content": f"{intro}\n\n{text}"}]


def combine_input(answers: Sequence[Answer]) -> str:
    return "\n".join(json.dumps(a.as_dict(), ensure_ascii=False) for a in answers)


def parse_answer(content: str | None) -> Answer:
    """The model's answer, or a transient ``SummaryError`` saying how it is not the JSON asked for."""
    try:
        document = json.loads(content or "")
    except ValueError:
        raise _not_json("the answer is not JSON") from None
    if not isinstance(document, dict):
        raise _not_json("the answer is not a JSON object")
    summary = document.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise _not_json('the answer has no "summary" text')
    summary = _printable(summary).strip()
    return Answer(summary, _strings(document, "action_items"), _strings(document, "topics"))


def _printable(value: str) -> str:
    """The answer without control characters (an ESC would drive the terminal of whoever reads
    the summary with ``cat``); line breaks and tabs stay."""
    return _CONTROL.sub("", value)


def _strings(document: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = document.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _not_json(f'"{key}" is not a list of strings')
    cleaned = (" ".join(_printable(v).split()) for v in value)
    return tuple(dict.fromkeys(c for c in cleaned if c))[:MAX_ITEMS]  # each once, in order


def _not_json(reason: str) -> SummaryError:
    return SummaryError(
        f"{reason} (asked for JSON with summary, action_items and topics)",
        code="invalid_answer",
        hint="the deployment's model may not follow JSON instructions: try another deployment or prompt",
        transient=True,
    )
