"""The batch REST client against a real local HTTP server (the emulator's router): answers mapped
to the engine errors, 429 waited out with Retry-After, pages followed, no SAS or key in a message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batchscribe.emulator.rest import RestAuth, RestRequest, RestResponse, RestServer, Route
from batchscribe.engines.batch.client import BatchClient, LinkExpired
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError

KEY = "client-test-key"


class Answers:
    def __init__(self) -> None:
        self.throttled = 2

    def routes(self) -> list[Route]:
        return [
            Route("POST", r"/speechtotext/refused", self.refused),
            Route("GET", r"/speechtotext/busy", self.busy),
            Route(
                "GET", r"/speechtotext/down", lambda r: RestResponse.error(503, "ServiceUnavailable", "down")
            ),
            Route("GET", r"/speechtotext/list", self.page),
            Route(
                "GET",
                r"/gone",
                lambda r: RestResponse.error(403, "AuthenticationFailed", "expired"),
                public=True,
            ),
        ]

    def refused(self, request: RestRequest) -> RestResponse:
        return RestResponse.of_json(400, {"code": "InvalidRequest", "message": "bad",
            "innerError": {"code": "InvalidRecordingsUri",
                           "message": "cannot read https://a.blob.core.windows.net/c/x.wav?sv=1&sig=SECRETSIG"}})  # fmt: skip

    def busy(self, request: RestRequest) -> RestResponse:
        if self.throttled:
            self.throttled -= 1
            return RestResponse.error(429, "TooManyRequests", "slow down", {"Retry-After": "7"})
        return RestResponse.of_json(200, {"ok": True})

    def page(self, request: RestRequest) -> RestResponse:
        skip = int(request.query.get("skip", 0))
        more = {"@nextLink": f"{request.base_url}/speechtotext/list?skip={skip + 2}"} if skip < 4 else {}
        return RestResponse.of_json(200, {"values": [skip, skip + 1], **more})


@pytest.fixture(name="server")
def server_fixture() -> Iterator[tuple[RestServer, Answers]]:
    answers = Answers()
    server = RestServer(answers.routes(), RestAuth(key=KEY)).start()
    try:
        yield server, answers
    finally:
        server.stop()


def _client(server: RestServer, key: str = KEY, waits: list[float] | None = None) -> BatchClient:
    sleeps = waits if waits is not None else []
    return BatchClient(f"{server.url}/speechtotext", {"Ocp-Apim-Subscription-Key": key}, sleep=sleeps.append)


def test_a_refusal_is_permanent_with_the_inner_code_and_no_sas_signature(
    server: tuple[RestServer, Answers],
) -> None:
    with pytest.raises(PermanentEngineError) as caught, _client(server[0]) as client:
        client.call("POST", "/refused", body={})
    assert caught.value.sdk_code == "InvalidRecordingsUri"
    assert "SECRETSIG" not in caught.value.message and "sig=***" in caught.value.message


def test_a_wrong_key_stops_the_run_and_is_never_shown(server: tuple[RestServer, Answers]) -> None:
    with pytest.raises(FatalEngineError) as caught, _client(server[0], key="not-the-key-0815") as client:
        client.call("GET", "/busy")
    assert "0815" not in caught.value.one_line()


def test_throttling_waits_for_retry_after_then_goes_on(server: tuple[RestServer, Answers]) -> None:
    waits: list[float] = []
    with _client(server[0], waits=waits) as client:
        assert client.call("GET", "/busy") == {"ok": True}
    assert waits == [7.0, 7.0]


def test_a_service_that_stays_down_is_a_transient_failure_after_the_retries(
    server: tuple[RestServer, Answers],
) -> None:
    waits: list[float] = []
    with pytest.raises(TransientEngineError), _client(server[0], waits=waits) as client:
        client.call("GET", "/down")
    assert len(waits) == 5 and waits == sorted(waits)  # backing off


def test_pages_are_followed_and_an_expired_link_says_so(server: tuple[RestServer, Answers]) -> None:
    with _client(server[0]) as client:
        assert list(client.pages("/list")) == [0, 1, 2, 3, 4, 5]
        with pytest.raises(LinkExpired):
            client.download(f"{server[0].url}/gone")
