"""The summaries stage's one hook into ``running/run.py``: after the transcripts, unless the run
was aborted or interrupted, with what the transcription already cost counted against
``--max-cost``, within ``--max-runtime``, and under ``--emulate`` the emulator's REST side as the endpoint.
The run hands over what the stage needs of it (whether it was aborted, the audio it transcribed,
the recordings its inputs hold), so summaries import nothing of ``running`` or ``planning``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone

from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.config.summaries import SummaryOptions
from batchscribe.state.ledger import Ledger
from batchscribe.summary_digest import Status, SummaryDigest


def summaries_after(
    settings: RunSettings,
    ledger: Ledger,
    endpoints: tuple[Endpoint, ...],
    sources: Iterable[str],
    *,
    aborted: bool,
    audio_seconds: float,
    run_id: str,
    cancel: CancelToken,
    credential: TokenSource | None,
    started_at: datetime,
    status: Status | None = None,
) -> SummaryDigest | None:
    """The run's summaries (None without ``--summarize``, or when the run stopped); none starts
    after the ``--max-runtime`` window, counted from ``started_at``. ``sources``: the recordings of
    the run's inputs, as they are walked; ``audio_seconds``: what the run transcribed; ``status``:
    told when the stage starts, after each summary, and when it ends."""
    options = settings.summaries
    if options is None or aborted or cancel.is_cancelled():
        return None
    from batchscribe.summaries.stage import summarize_run  # imports openai: only when asked for

    transcribed_cost = audio_seconds / 3600 * settings.price_per_hour
    endpoint = summaries_endpoint(options, endpoints)
    deadline = None
    if settings.max_runtime_s is not None:
        elapsed = (datetime.now(timezone.utc) - started_at).total_seconds()
        deadline = time.monotonic() - elapsed + settings.max_runtime_s
    return summarize_run(settings, ledger, sources, endpoint=endpoint, spent_so_far=transcribed_cost,
                         run_id=run_id, cancel=cancel, credential=credential, deadline=deadline,
                         status=status)  # fmt: skip


def summaries_endpoint(options: SummaryOptions, endpoints: tuple[Endpoint, ...]) -> str:
    """Where summaries go: the endpoint asked for, else (``--emulate``) the emulator's REST side."""
    return options.endpoint or endpoints[0].rest_url
