"""What the summaries stage of a run did: ``SummaryDigest``, kept in the ``RunResult`` and
rendered by the report (``report/digest.py``): counts, tokens and cost, per recording its one-line
summary and action items (or why it has none), and the night's most frequent topics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

MAX_ROWS = 500  # recordings listed in the report; the counts and topics cover every one
TOP_TOPICS = 10
ONE_LINE_CHARS = 200

RowStatus = Literal["done", "refused", "failed", "empty"]


def one_line(summary: str) -> str:
    """The summary's first sentence, on one line, at most ``ONE_LINE_CHARS`` characters."""
    flat = " ".join(summary.split())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    return first if len(first) <= ONE_LINE_CHARS else first[: ONE_LINE_CHARS - 3].rstrip() + "..."


@dataclass(frozen=True)
class SummaryRow:
    source: str
    status: RowStatus
    one_line: str = ""
    action_items: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    tokens: int = 0
    reason: str = ""  # why refused or failed (masked)
    code: str = ""


@dataclass(frozen=True)
class SummaryDigest:
    deployment: str
    made: int = 0
    unchanged: int = 0  # done before, nothing changed: not sent
    refused: int = 0
    failed: int = 0
    not_scheduled: int = 0  # left for the next run by --max-cost or an interrupt
    stopped: str = ""  # why the summaries stopped for the run (credentials, deployment), one line
    stop_reason: str = ""  # the budget was reached
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    price_per_1k_tokens: float = 0.0
    rows: tuple[SummaryRow, ...] = ()
    topics: tuple[tuple[str, int], ...] = field(default=())

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def did_something(self) -> bool:
        return bool(self.made or self.refused or self.failed or self.not_scheduled or self.stopped)

    @property
    def has_failures(self) -> bool:
        """Summaries asked for and not made (a refusal is a warning, not a failure)."""
        return bool(self.failed or self.stopped)


def count_topics(counter: Counter[str], topics: Iterable[str]) -> None:
    """Count one recording's topics (lower case, each once per recording)."""
    counter.update({" ".join(t.lower().split()) for t in topics if t.strip()})


def top_topics(counter: Counter[str], count: int = TOP_TOPICS) -> tuple[tuple[str, int], ...]:
    """The most frequent topics, most frequent first, ties alphabetically."""
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:count])


class Status(Protocol):
    """Told how the summaries stage goes, for the progress display: ``phase`` is "start",
    "progress" (a summary finished) or "end" (``running.events.SummaryEvents`` listens)."""

    def __call__(self, message: str, *, phase: str) -> None: ...
