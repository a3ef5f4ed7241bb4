"""The summaries stage's one hook into ``running/run.py``: after the transcripts, unless the run
was aborted or interrupted, with what the transcription already cost counted against
``--max-cost``, within ``--max-runtime``, and under ``--emulate`` the emulator's REST side as the endpoint."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.running.events import SummaryEvents
from batchscribe.running.outcome import RunOutcome
from batchscribe.state.ledger import Ledger
from batchscribe.summaries.digest import SummaryDigest
from batchscribe.summaries.options import SummaryOptions


def summaries_after(
    settings: RunSettings,
    ledger: Ledger,
    endpoints: tuple[Endpoint, ...],
    outcome: RunOutcome,
    run_id: str,
    cancel: CancelToken,
    credential: TokenSource | None,
    started_at: datetime,
    sink: object = None,
) -> SummaryDigest | None:
    """The run's summaries (None without ``--summarize``, or when the run stopped); none starts
    after the ``--max-runtime`` window, counted from ``started_at``. ``sink``: the run's progress
    display, told how the stage goes when it listens (``SummaryEvents``)."""
    options = settings.summaries
    if options is None or outcome.aborted is not None or cancel.is_cancelled():
        return None
    from batchscribe.summaries.stage import summarize_run  # imports openai: only when asked for

    transcribed_cost = outcome.tally.audio_seconds / 3600 * settings.price_per_hour
    endpoint = summaries_endpoint(options, endpoints)
    deadline = None
    if settings.max_runtime_s is not None:
        elapsed = (datetime.now(timezone.utc) - started_at).total_seconds()
        deadline = time.monotonic() - elapsed + settings.max_runtime_s
    status = sink.summaries_status if isinstance(sink, SummaryEvents) else None
    return summarize_run(settings, ledger, endpoint=endpoint, spent_so_far=transcribed_cost, run_id=run_id,
                         cancel=cancel, credential=credential, deadline=deadline, status=status)  # fmt: skip


def summaries_endpoint(options: SummaryOptions, endpoints: tuple[Endpoint, ...]) -> str:
    """Where summaries go: the endpoint asked for, else (``--emulate``) the emulator's REST side."""
    return options.endpoint or endpoints[0].rest_url
