"""Another implementation of the batch API, for the tests that attack the batch engine with it:
a real local HTTP server (the emulator's router) answering whatever a test puts in
``Hostile.answers``, and the real client and engine pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from batchscribe.emulator.rest import RestAuth, RestRequest, RestResponse, RestServer, Route
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.client import BatchClient
from batchscribe.engines.batch.engine import BatchJobEngine
from batchscribe.engines.batch.storage import BlobStore

KEY = "hostile-test-key-0815"
Answer = Callable[[RestRequest], RestResponse]


class Hostile:
    """Routes answered by whatever the test puts in ``answers`` (path -> answer); every request's
    key header is kept in ``keys`` (path -> key or '')."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.keys: list[tuple[str, str]] = []

    def handle(self, request: RestRequest) -> RestResponse:
        self.keys.append((request.path, request.headers.get("ocp-apim-subscription-key", "")))
        answer = self.answers.get(request.path)
        return answer(request) if answer else RestResponse.error(404, "NotFound", request.path)


@contextmanager
def hostile_server() -> Iterator[tuple[RestServer, Hostile]]:
    hostile = Hostile()
    server = RestServer([Route(m, r"/.*", hostile.handle, public=True) for m in ("GET", "POST", "DELETE")],
                        RestAuth(key=KEY)).start()  # fmt: skip
    try:
        yield server, hostile
    finally:
        server.stop()


def client(server: RestServer, waits: list[float] | None = None) -> BatchClient:
    return BatchClient(f"{server.url}/speechtotext", {"Ocp-Apim-Subscription-Key": KEY},
                       sleep=(waits if waits is not None else []).append)  # fmt: skip


def answer(document: object, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return lambda request: RestResponse.of_json(status, document, headers)


def engine(server: RestServer, store: BlobStore) -> BatchJobEngine:
    return BatchJobEngine(client(server), store, RecognitionOptions(), channels_separate=False, name="batch")
