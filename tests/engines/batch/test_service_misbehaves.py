"""Another implementation of the batch API, misbehaving: a real local HTTP server (the emulator's
router) answering what Azure documents nowhere. The client and the engine must neither crash nor
send the Speech key anywhere but the endpoint, nor wait for ever, nor take garbage for results."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from batchscribe.emulator.rest import RestAuth, RestRequest, RestResponse, RestServer, Route
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.client import BatchClient
from batchscribe.engines.batch.engine import BatchJobEngine
from batchscribe.engines.batch.results import BadResult, transcript_from_result
from batchscribe.engines.batch.storage import BlobStore
from batchscribe.errors import FatalEngineError, TransientEngineError
from tests.azurite import Azurite

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


@pytest.fixture(name="hostile")
def hostile_fixture() -> Iterator[tuple[RestServer, Hostile]]:
    hostile = Hostile()
    server = RestServer([Route(m, r"/.*", hostile.handle, public=True) for m in ("GET", "POST", "DELETE")],
                        RestAuth(key=KEY)).start()  # fmt: skip
    try:
        yield server, hostile
    finally:
        server.stop()


def _client(server: RestServer, waits: list[float] | None = None) -> BatchClient:
    return BatchClient(f"{server.url}/speechtotext", {"Ocp-Apim-Subscription-Key": KEY},
                       sleep=(waits if waits is not None else []).append)  # fmt: skip


def _json(document: object, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return lambda request: RestResponse.of_json(status, document, headers)


def test_a_next_link_to_another_host_is_not_followed_and_never_gets_the_key(
    hostile: tuple[RestServer, Hostile],
) -> None:
    server, answers = hostile
    elsewhere = Hostile()
    other = RestServer([Route("GET", r"/.*", elsewhere.handle, public=True)], RestAuth(key=KEY)).start()
    try:
        answers.answers["/speechtotext/transcriptions"] = _json(
            {"values": [], "@nextLink": f"{other.url}/speechtotext/transcriptions?skip=100"}
        )
        with pytest.raises(FatalEngineError) as caught, _client(server) as client:
            list(client.pages("/transcriptions"))
    finally:
        other.stop()
    assert elsewhere.keys == []  # not asked at all
    assert "another host" in caught.value.message and KEY not in caught.value.one_line()


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: RestResponse(200, b"<html>proxy says hello</html>", {"Content-Type": "text/html"}),
        lambda r: RestResponse(200, b'{"values": [', {"Content-Type": "application/json"}),
        _json({"items": []}),
        _json({"values": None}),
        _json([{"self": "x"}]),
    ],
    ids=["html", "cut-json", "no-values", "null-values", "a-list"],
)
def test_a_list_answer_that_is_not_a_list_is_a_transient_failure(
    hostile: tuple[RestServer, Hostile], answer: Answer
) -> None:
    server, answers = hostile
    answers.answers["/speechtotext/transcriptions"] = answer
    with pytest.raises(TransientEngineError) as caught, _client(server) as client:
        list(client.pages("/transcriptions"))
    assert caught.value.code == "bad_answer"


def test_retry_after_is_bounded_and_read_as_a_date_too(hostile: tuple[RestServer, Hostile]) -> None:
    server, answers = hostile
    in_ten_s = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=10), usegmt=True)
    said = iter(["1e12", "inf", "-5", in_ten_s])

    def throttled(request: RestRequest) -> RestResponse:
        if (value := next(said, None)) is None:
            return RestResponse.of_json(200, {"ok": True})
        return RestResponse.error(429, "TooManyRequests", "later", {"Retry-After": value})

    answers.answers["/speechtotext/busy"] = throttled
    waits: list[float] = []
    with _client(server, waits) as client:
        assert client.call("GET", "/busy") == {"ok": True}
    assert waits[:3] == [300.0, 300.0, 4.0]  # at most 5 min; negative: the back-off
    assert 5.0 < waits[3] <= 10.0

