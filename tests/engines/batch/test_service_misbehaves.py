"""Another implementation of the batch API, misbehaving (``hostile.py``): lists, submits and
answers in shapes Azure documents nowhere. The client and the engine must neither crash nor send
the Speech key anywhere but the endpoint, nor wait or submit for ever, nor fail what is not failed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator.rest import RestAuth, RestRequest, RestResponse, RestServer, Route
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.engines.batch.storage import BlobStore
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError
from batchscribe.resources.batch_setup import batch_engine
from batchscribe.running.run import run_batch
from batchscribe.state.job_store import JobStore
from tests.azurite import Azurite
from tests.conftest import Recordings
from tests.engines.batch.hostile import KEY, Answer, Hostile
from tests.engines.batch.hostile import answer as _json
from tests.engines.batch.hostile import client as _client
from tests.engines.batch.hostile import engine as _engine


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
    assert 0.0 < waits[3] <= 10.0 and waits[3] not in (4.0, 8.0)  # from the date, not the back-off


def test_job_lists_and_answers_in_another_shape_neither_crash_nor_invent_a_job(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    base = f"{server.url}/speechtotext/transcriptions"
    answers.answers["/speechtotext/transcriptions"] = _json({"values": [
        "a string", None, {"displayName": "no self"}, {"self": 42, "status": "Succeeded"},
        {"self": f"{base}/j1", "status": "Succeeded", "properties": ["not", "a", "dict"]},
        {"self": f"{base}/j2", "status": "Failed", "properties": {"error": "only text"}},
        {"self": f"{base}/j3", "status": "Paused"},
    ]})  # fmt: skip
    answers.answers["/speechtotext/transcriptions/j4"] = _json(["not", "a", "job"])
    answers.answers["/speechtotext/transcriptions:submit"] = _json({"status": "NotStarted"}, status=201)
    engine = _engine(server, store)
    try:
        found = engine.statuses(["j1", "j2", "j3", "j4"])
        assert {k: (s.state, s.error_code, s.unknown) for k, s in found.items()} == {
            "j1": ("Succeeded", "", ""), "j2": ("Failed", "", ""), "j3": ("Running", "", "Paused"),
            "j4": ("Lost", "", ""),
        }  # fmt: skip
        assert engine.find("no self") is None
        with pytest.raises(FatalEngineError):  # left 'submitting': looked for by name next run
            engine.submit("batchscribe r job 1", ["x.wav"])
    finally:
        engine.close()


def test_a_service_refusing_its_list_call_aborts_the_run_honestly_and_keeps_the_job(
    hostile: tuple[RestServer, Hostile], azurite: Azurite, recordings: Recordings, tmp_path: Path
) -> None:
    server, answers = hostile
    recordings.add("one.wav", 1)
    base = f"{server.url}/speechtotext/transcriptions"
    answers.answers["/speechtotext/transcriptions:submit"] = _json(
        {"self": f"{base}/j1", "status": "NotStarted"}, 201
    )
    answers.answers["/speechtotext/transcriptions"] = lambda r: RestResponse.error(
        400, "InvalidQuery", "no lists here"
    )
    settings = RunSettings(
        inputs=(recordings.root,), out=tmp_path / "out", engine="batch",
        endpoint=Endpoint(kind="endpoint", url=server.url, key=KEY),
        batch=BatchSettings(storage="refusedlist", poll_interval_s=0.02),
    )  # fmt: skip
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    result = run_batch(settings, job_engine_factory=lambda s: batch_engine(s, env=env))
    assert result.exit_code == 3 and "InvalidQuery" in result.aborted, result
    store = JobStore(settings.out)
    try:
        assert [(j.job_id, j.state) for j in store.jobs()] == [("j1", "submitted")]  # the next run polls it
    finally:
        store.close()


def test_next_links_that_never_end_stop_after_a_bounded_number_of_pages(
    hostile: tuple[RestServer, Hostile],
) -> None:
    server, answers = hostile

    def endless(request: RestRequest) -> RestResponse:
        skip = int(request.query.get("skip", 0))
        link = f"{request.base_url}/speechtotext/transcriptions?skip={skip + 1}"
        return RestResponse.of_json(200, {"values": [], "@nextLink": link})

    answers.answers["/speechtotext/transcriptions"] = endless
    with pytest.raises(TransientEngineError) as caught, _client(server) as client:
        client.max_pages = 20  # 1,000 by default
        list(client.pages("/transcriptions"))
    assert "did not end after 20 pages" in caught.value.message and len(answers.keys) == 20


def test_an_endpoint_without_the_batch_api_aborts_the_run_and_fails_no_recording(
    hostile: tuple[RestServer, Hostile], azurite: Azurite, recordings: Recordings, tmp_path: Path
) -> None:
    server, _ = hostile  # answers 404 to everything, as a host without the batch API does
    for seed in range(3):
        recordings.add(f"r{seed}.wav", 100 + seed)
    settings = RunSettings(
        inputs=(recordings.root,), out=tmp_path / "out", engine="batch",
        endpoint=Endpoint(kind="endpoint", url=server.url, key=KEY),
        batch=BatchSettings(storage="noapi", poll_interval_s=0.02, batch_size=1),
    )  # fmt: skip
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    result = run_batch(settings, job_engine_factory=lambda s: batch_engine(s, env=env))
    assert (result.exit_code, result.failed_count) == (3, 0), result.failed
    assert "not at this endpoint" in result.aborted and "--endpoint" in result.aborted


def test_a_poll_reads_the_job_list_only_until_its_jobs_are_found(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    base = f"{server.url}/speechtotext/transcriptions"

    def page(request: RestRequest) -> RestResponse:  # a resource shared with other tools: 50 pages
        skip = int(request.query.get("skip", 0))
        values = [{"self": f"{base}/job{skip + n}", "status": "Running"} for n in range(100)]
        more = {"@nextLink": f"{base}?skip={skip + 100}"} if skip < 4900 else {}
        return RestResponse.of_json(200, {"values": values, **more})

    answers.answers["/speechtotext/transcriptions"] = page
    engine = _engine(server, store)
    try:
        found = engine.statuses(["job3", "job150"])
    finally:
        engine.close()
    assert {k: s.state for k, s in found.items()} == {"job3": "Running", "job150": "Running"}
    assert len(answers.keys) == 2  # two pages read, not fifty


def test_a_submit_answer_without_a_job_id_stops_the_run_after_one_submit(
    hostile: tuple[RestServer, Hostile], azurite: Azurite, recordings: Recordings, tmp_path: Path
) -> None:
    server, answers = hostile
    recordings.add("one.wav", 110)
    answers.answers["/speechtotext/transcriptions:submit"] = _json({"status": "NotStarted"}, 201)
    answers.answers["/speechtotext/transcriptions"] = _json({"values": []})
    settings = RunSettings(
        inputs=(recordings.root,), out=tmp_path / "out", engine="batch",
        endpoint=Endpoint(kind="endpoint", url=server.url, key=KEY),
        batch=BatchSettings(storage="noid", poll_interval_s=0.02),
        max_runtime_s=5.0,
    )  # fmt: skip
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    result = run_batch(settings, job_engine_factory=lambda s: batch_engine(s, env=env))
    assert result.exit_code == 3 and "no job id" in result.aborted
    assert [path for path, _ in answers.keys].count("/speechtotext/transcriptions:submit") == 1


def test_terminal_control_from_the_service_never_reaches_a_message(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    base = f"{server.url}/speechtotext/transcriptions"
    evil = "Bad\x1b[2J\nINFO: all 1000 recordings done"
    answers.answers["/speechtotext/transcriptions"] = _json({"values": [
        {"self": f"{base}/\x1b[31mj1", "status": "Running"},
        {"self": f"{base}/j2", "status": "Failed", "properties": {"error": {"code": evil, "message": evil}}},
    ]})  # fmt: skip
    answers.answers["/speechtotext/refuse"] = lambda r: RestResponse.error(400, evil, evil)
    engine = _engine(server, store)
    try:
        status = engine.statuses(["j2"])["j2"]
        with pytest.raises(PermanentEngineError) as caught:
            engine._client.call("GET", "/refuse")
    finally:
        engine.close()
    texts = [status.error_code, status.error_message, caught.value.one_line(), caught.value.sdk_code]
    assert not any("\x1b" in text or "\n" in text for text in texts), texts
    assert all("all 1000 recordings done" in text for text in texts)
