"""Which REST APIs the emulator serves, and what they share: ``routes(context)``.

Each API lives in its own module and contributes its routes here (fast transcription, batch
transcription, OpenAI chat completions). ``ApiContext`` is what they share with the websocket
side: the scripts (what to answer for which audio) and the speed factor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from batchscribe.emulator import openai_api
from batchscribe.emulator.fast_api import fast_routes
from batchscribe.emulator.faults import Fault
from batchscribe.emulator.openai_api import OpenAiEmulation
from batchscribe.emulator.rest import RestRequest, RestResponse, Route
from batchscribe.emulator.scripts import Transcripts


@dataclass(frozen=True)
class ApiContext:
    transcripts: Transcripts
    speed: float | None  # answer no earlier than audio length / speed (None: at once)
    openai: OpenAiEmulation = field(default_factory=OpenAiEmulation)  # chat completions, its faults
    faults: Callable[[], tuple[Fault, ...]] = tuple  # the emulator-wide faults, as they are now
    closed: threading.Event = field(default_factory=threading.Event)  # set when the emulator stops


def _status(request: RestRequest) -> RestResponse:
    return RestResponse.of_json(200, {"status": "ok"})


def routes(context: ApiContext) -> list[Route]:
    """Every REST route the emulator serves."""
    return [
        Route("GET", r"/status", _status),
        *openai_api.routes(context.openai),
        *fast_routes(context.transcripts, context.speed, context.faults, context.closed),
    ]
