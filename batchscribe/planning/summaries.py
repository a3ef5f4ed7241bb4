"""What ``batchscribe plan --summarize`` says about summaries: how many the run would make, and
about how many tokens and what cost, from the same decision the run takes (``document.decide``).

A recording about to be transcribed is counted as due (its transcript will be new); its tokens
are estimated from its audio length (about ``TOKENS_PER_MINUTE`` of speech). A recording already
transcribed is decided as the run would, from its summary JSON, and estimated from its text.
Nothing is sent, written or changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from batchscribe.config.settings import RunSettings
from batchscribe.names import stored
from batchscribe.outputs.azure_json import read_transcript_document
from batchscribe.planning.discovery import AudioFile
from batchscribe.state.ledger import LedgerRow
from batchscribe.summaries import document
from batchscribe.summaries.document import Stamp, SummaryPaths
from batchscribe.summaries.prompt import ANSWER_TOKENS, estimate_tokens, text_sha256, transcript_text

TOKENS_PER_MINUTE = 200  # about 150 spoken words a minute


@dataclass(frozen=True)
class SummaryPlan:
    due: int = 0
    unchanged: int = 0
    estimated_tokens: int = 0
    estimated_cost: float = 0.0


def plan_summaries(
    settings: RunSettings,
    files: Iterable[AudioFile],
    rows: Mapping[str, LedgerRow],
    transcribing: Mapping[str, float],
) -> SummaryPlan | None:
    """The summaries a run of ``settings`` would make over ``files`` (None without --summarize);
    ``transcribing``: the audio seconds of each recording the run transcribes first, by source."""
    options = settings.summaries
    if options is None:
        return None
    prompt_tokens = estimate_tokens(options.prompt) + ANSWER_TOKENS
    due = unchanged = tokens = 0
    for file in files:
        if file.source in transcribing:
            due += 1
            tokens += prompt_tokens + round(transcribing[file.source] / 60 * TOKENS_PER_MINUTE)
            continue
        row = rows.get(stored(file.source))
        paths = SummaryPaths.of(settings.out, file.source)
        if row is None or row.status != "succeeded" or not paths.transcript.is_file():
            continue
        text = _Lazy(paths)
        try:
            decision = document.decide(document.read_summary(paths.json), Stamp.of(paths.transcript),
                                       prompt_sha256=options.prompt_sha256, deployment=options.deployment,
                                       text_sha256=lambda t=text: text_sha256(t()))  # type: ignore[misc]  # fmt: skip
            if decision.due:
                tokens += prompt_tokens + estimate_tokens(text())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # the run reports it
        due += decision.due
        unchanged += not decision.due
    return SummaryPlan(due, unchanged, tokens, round(tokens / 1000 * options.price_per_1k_tokens, 4))


class _Lazy:
    """A transcript's text, read at most once and only when needed."""

    def __init__(self, paths: SummaryPaths) -> None:
        self._paths = paths
        self._text: str | None = None

    def __call__(self) -> str:
        if self._text is None:
            self._text = transcript_text(read_transcript_document(self._paths.transcript))
        return self._text


def plan_columns(planned: SummaryPlan | None) -> dict[str, object]:
    """The summaries' keys of a job's ``plan --json`` row (none without --summarize)."""
    if planned is None:
        return {}
    return {"summaries_due": planned.due, "summaries_unchanged": planned.unchanged,
            "summary_tokens": planned.estimated_tokens, "summary_cost": planned.estimated_cost}  # fmt: skip


def plan_lines(rows: Iterable[Mapping[str, object]]) -> list[str]:
    """One line per job with summaries, under the plan's table."""
    return [
        f"summaries of {row['job']}: {row['summaries_due']} to make, {row['summaries_unchanged']} unchanged, "
        f"~{row['summary_tokens']:,} tokens, estimated cost {row['summary_cost']:.2f} "
        f"{row.get('currency') or 'USD'}"
        for row in rows
        if "summaries_due" in row
    ]
