"""Which REST APIs the emulator serves, and what they share: ``routes(context)``.

Each API lives in its own module and contributes its routes here (fast transcription, batch
transcription, OpenAI chat completions). ``ApiContext`` is what they share with the websocket
side: the scripts (what to answer for which audio) and the speed factor.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchscribe.emulator.batch_api import BatchService
from batchscribe.emulator.rest import RestRequest, RestResponse, Route
from batchscribe.emulator.scripts import Transcripts


@dataclass(frozen=True)
class ApiContext:
    transcripts: Transcripts
    speed: float | None  # answer no earlier than audio length / speed (None: at once)
    batch: BatchService | None = None  # batch transcription's jobs (``batch_api``)


def _status(request: RestRequest) -> RestResponse:
    return RestResponse.of_json(200, {"status": "ok"})


def routes(context: ApiContext) -> list[Route]:
    """Every REST route the emulator serves."""
    batch = context.batch.routes() if context.batch is not None else []
    return [Route("GET", r"/status", _status), *batch]
