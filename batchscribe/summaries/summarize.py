"""One recording's summary from its transcript text: in one request when it fits the deployment's
context, else in parts whose summaries are combined (``map, then reduce``), never cut short.

When the service says a request was still too long (``context_length_exceeded``: the context
was set too large, or the estimate was off), the parts are halved and the summary starts over;
every token spent is counted. An answer that is not the JSON asked for is asked again once, then
the summary fails with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from batchscribe.errors import SummaryError
from batchscribe.summaries.client import ChatClient, ContextTooLong
from batchscribe.summaries.prompt import (
    MIN_PART_TOKENS,
    Answer,
    combine_input,
    estimate_tokens,
    messages,
    parse_answer,
    part_budget,
    split_parts,
)

log = logging.getLogger(__name__)
MAX_COMBINE_DEPTH = 4


@dataclass
class Spent:
    """What a summary cost so far, over every request (those retried and started over too)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    model: str = ""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Made:
    answer: Answer
    parts: int  # transcript parts summarized separately (1: in one request)
    spent: Spent


def summarize_text(client: ChatClient, text: str, *, spent: Spent | None = None) -> Made:
    """The summary of ``text`` (a transcript), in as many parts as the context needs."""
    spent = spent or Spent()
    prompt = client.options.prompt
    budget = part_budget(prompt, client.options.context_tokens)
    while True:
        try:
            answer, parts = _summarize(client, text, budget, spent, depth=0)
            return Made(answer, parts, spent)
        except ContextTooLong as exc:
            budget //= 2
            if budget < MIN_PART_TOKENS:
                raise SummaryError(
                    f"the transcript does not fit the deployment's context even in parts: {exc.message}",
                    code="context_length_exceeded",
                    hint="check --openai-context-tokens and the length of --summary-prompt",
                ) from exc
            log.info("summary request too long for the deployment; again in parts of ~%d tokens", budget)


def _summarize(client: ChatClient, text: str, budget: int, spent: Spent, depth: int) -> tuple[Answer, int]:
    parts = split_parts(text, budget)
    answers = [_ask(client, messages(client.options.prompt, p, part=i, parts=len(parts)), spent)
               for i, p in enumerate(parts)]  # fmt: skip
    if len(answers) == 1:
        return answers[0], 1
    return _combine(client, answers, budget, spent, depth), len(parts)


def _combine(client: ChatClient, answers: Sequence[Answer], budget: int, spent: Spent, depth: int) -> Answer:
    combined = combine_input(answers)
    if estimate_tokens(combined) <= budget or depth >= MAX_COMBINE_DEPTH:
        return _ask(client, messages(client.options.prompt, combined, part=-1, parts=len(answers)), spent)
    # So many parts that their summaries do not fit one request: combine them in groups first.
    return _summarize(client, combined, budget, spent, depth + 1)[0]


def _ask(client: ChatClient, chat: list[dict[str, str]], spent: Spent) -> Answer:
    """One answer, asked again once when it is not the JSON the prompt asks for."""
    for attempt in (1, 2):
        completion = client.complete(chat)
        spent.prompt_tokens += completion.prompt_tokens
        spent.completion_tokens += completion.completion_tokens
        spent.requests += completion.attempts
        spent.model = completion.model or spent.model
        try:
            return parse_answer(completion.content)
        except SummaryError as exc:
            if attempt == 2:
                raise SummaryError(exc.message + ", twice", code="invalid_answer", hint=exc.hint) from None
            log.info("summary answer unusable (%s); asking once more", exc.message)
    raise AssertionError("unreachable")
