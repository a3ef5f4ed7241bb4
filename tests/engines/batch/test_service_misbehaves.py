"""Another implementation of the batch API, misbehaving: a real local HTTP server (the emulator's
router) answering what Azure documents nowhere. The client and the engine must neither crash nor
send the Speech key anywhere but the endpoint, nor wait for ever, nor take garbage for results."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator.rest import RestAuth, RestRequest, RestResponse, RestServer, Route
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.client import BatchClient
from batchscribe.engines.batch.engine import BatchJobEngine
from batchscribe.engines.batch.results import BadResult, transcript_from_result
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.engines.batch.storage import BlobStore
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError
from batchscribe.resources.batch_setup import batch_engine
from batchscribe.running.run import run_batch
from batchscribe.state.job_store import JobStore
from tests.azurite import Azurite
from tests.conftest import Recordings

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
    assert 0.0 < waits[3] <= 10.0 and waits[3] not in (4.0, 8.0)  # from the date, not the back-off


@pytest.fixture(name="store", scope="module")
def store_fixture(azurite: Azurite) -> BlobStore:
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    return BlobStore.open("hostile", access="sas", env=env)


def _engine(server: RestServer, store: BlobStore) -> BatchJobEngine:
    return BatchJobEngine(_client(server), store, RecognitionOptions(), channels_separate=False, name="batch")


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
        assert {k: (s.state, s.error_code) for k, s in found.items()} == {
            "j1": ("Succeeded", ""), "j2": ("Failed", ""), "j3": ("Running", ""), "j4": ("Lost", ""),
        }  # fmt: skip
        assert engine.find("no self") is None
        with pytest.raises(FatalEngineError):  # left 'submitting': looked for by name next run
            engine.submit("batchscribe r job 1", ["x.wav"])
    finally:
        engine.close()


def test_result_files_in_another_shape_fail_their_recordings_one_by_one(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    link = f"{server.url}/content"
    good = {"recognizedPhrases": [{"offsetInTicks": 0, "durationInTicks": 10, "channel": 0,
                                   "nBest": [{"display": "Fine."}]}]}  # fmt: skip
    infinite = b'{"recognizedPhrases": [{"offsetInTicks": Infinity, "durationInTicks": 1, "nBest": [{"display": "x"}]}]}'
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        "not a file", {"kind": "Transcription", "name": "contenturl_0.json"},  # no links
        {"kind": "Transcription", "name": "contenturl_0.json", "links": "nowhere"},
        {"kind": "Transcription", "name": "contenturl_1.json", "links": {"contentUrl": f"{link}/1"}},
        {"kind": "Transcription", "name": "contenturl_2.json", "links": {"contentUrl": f"{link}/2"}},
        {"kind": "Transcription", "name": "contenturl_3.json", "links": {"contentUrl": f"{link}/3"}},
        {"kind": "Transcription", "name": "contenturl_99.json", "links": {"contentUrl": f"{link}/1"}},
        {"kind": "Surprise", "name": "contenturl_4.json", "links": {"contentUrl": f"{link}/1"}},
        {"kind": "TranscriptionReport", "name": "report.json", "links": {"contentUrl": f"{link}/report"}},
    ]})  # fmt: skip
    answers.answers["/content/1"] = lambda r: RestResponse(200, infinite)
    answers.answers["/content/2"] = _json({**good, "recognizedPhrases": [
        {**good["recognizedPhrases"][0], "channel": 1e400, "offsetInTicks": 10**40}]})  # fmt: skip
    answers.answers["/content/3"] = _json(good)
    answers.answers["/content/report"] = _json({"details": [
        {"source": "https://elsewhere/c/unknown.wav?sig=SECRET", "status": "Failed", "errorKind": "InvalidData"},
        "not a detail",
    ]})  # fmt: skip
    engine = _engine(server, store)
    try:
        results = {r.index: r for r in engine.results("j", ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"])}
    finally:
        engine.close()
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert results[3].transcript is not None and results[3].transcript.phrases[0].display == "Fine."
    for index in (1, 2):
        assert isinstance(results[index].error, BadResult), results[index]
    for index in (0, 4):  # no usable file: failed, to be sent again by the next run
        assert isinstance(results[index].error, TransientEngineError), results[index]
    assert all(key in ("", KEY) for _, key in answers.keys)
    assert [path for path, key in answers.keys if key] == [
        "/speechtotext/transcriptions/j/files"
    ]  # the key only to the API, never with a content link


@pytest.mark.parametrize(
    "document",
    [
        b'{"recognizedPhrases": [{"offsetInTicks": 1e400, "durationInTicks": 1, "nBest": [{"display": "x"}]}]}',
        b'{"recognizedPhrases": [{"offsetInTicks": 0, "durationInTicks": 1, "channel": 1e999, "nBest": [{"display": "x"}]}]}',
        json.dumps(
            {
                "recognizedPhrases": [
                    {"offsetInTicks": 10**30, "durationInTicks": 1, "nBest": [{"display": "x"}]}
                ]
            }
        ).encode(),
    ],
    ids=["infinite-offset", "infinite-channel", "huge-offset"],
)
def test_a_transcription_with_numbers_beyond_any_recording_is_a_bad_result(document: bytes) -> None:
    with pytest.raises(BadResult):
        transcript_from_result(document)


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


def test_a_sas_signature_in_the_services_error_texts_is_never_kept(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    base, link = f"{server.url}/speechtotext/transcriptions", f"{server.url}/content"
    sas_url = "https://acc.blob.core.windows.net/c/x.wav?sv=2022-11-02&se=2030&sp=r&sig=SECRETSIG0815%3D"
    answers.answers["/speechtotext/transcriptions"] = _json({"values": [{
        "self": f"{base}/j1", "status": "Failed",
        "properties": {"error": {"code": "InvalidData", "message": f"cannot read {sas_url}"}},
    }]})  # fmt: skip
    answers.answers["/speechtotext/transcriptions/j2/files"] = _json({"values": [
        {"kind": "TranscriptionReport", "name": "report.json", "links": {"contentUrl": f"{link}/report"}},
    ]})  # fmt: skip
    answers.answers["/content/report"] = _json({"details": [
        {"source": sas_url, "status": "Failed", "errorKind": "InvalidData", "errorMessage": f"cannot read {sas_url}"},
    ]})  # fmt: skip
    engine = _engine(server, store)
    try:
        status = engine.statuses(["j1"])["j1"]
        (result,) = engine.results("j2", ["x.wav"])
    finally:
        engine.close()
    assert result.error is not None and isinstance(result.error, PermanentEngineError)
    texts = [status.error_message, result.error.one_line(), result.error.detail]
    assert all("sig=***" in text and "SECRETSIG" not in text for text in texts), texts


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


def test_a_result_links_sas_signature_is_not_logged_with_verbose(
    hostile: tuple[RestServer, Hostile], store: BlobStore, caplog: pytest.LogCaptureFixture
) -> None:
    server, answers = hostile
    link = f"{server.url}/content/1?sv=2022-11-02&sp=r&sig=SECRETSIG0815%3D"
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "Transcription", "name": "contenturl_0.json", "links": {"contentUrl": link}},
    ]})  # fmt: skip
    answers.answers["/content/1"] = _json({"recognizedPhrases": []})
    engine = _engine(server, store)
    try:
        with caplog.at_level(logging.DEBUG):  # --verbose
            (result,) = engine.results("j", ["a.wav"])
    finally:
        engine.close()
    assert result.transcript is not None
    assert "/content/1?sv=2022-11-02&sp=r&sig=***" in caplog.text and "SECRETSIG" not in caplog.text


def test_a_result_is_given_to_the_recording_its_source_names_never_by_its_number_alone(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    link, container = f"{server.url}/content", "https://acc.blob.core.windows.net/c"

    def result(source: str, text: str) -> Answer:
        phrase = {"offsetInTicks": 0, "durationInTicks": 10, "nBest": [{"display": text}]}
        return _json({"source": source, "recognizedPhrases": [phrase]})

    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "Transcription", "name": f"contenturl_{n}.json", "links": {"contentUrl": f"{link}/{n}"}}
        for n in range(3)
    ]})  # fmt: skip
    # Numbered from another count: each file says whose it is; the last names no recording here.
    answers.answers["/content/0"] = result(f"{container}/b.wav?sv=1&sig=x", "Bee.")
    answers.answers["/content/1"] = result(f"{container}/a.wav", "Ay.")
    answers.answers["/content/2"] = result(f"{container}/somebody-else.wav", "Not ours.")
    engine = _engine(server, store)
    try:
        results = {r.index: r for r in engine.results("j", ["a.wav", "b.wav", "c.wav"])}
    finally:
        engine.close()
    shown = {
        i: r.transcript.phrases[0].display if r.transcript else type(r.error).__name__
        for i, r in results.items()
    }
    assert shown == {0: "Ay.", 1: "Bee.", 2: "TransientEngineError"}


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


@pytest.mark.parametrize("details", [5, {"a": 1}, None])
def test_a_report_in_another_shape_is_no_failure_of_its_own(
    hostile: tuple[RestServer, Hostile], store: BlobStore, details: object
) -> None:
    server, answers = hostile
    link = f"{server.url}/content/report"
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "TranscriptionReport", "name": "report.json", "links": {"contentUrl": link}},
    ]})  # fmt: skip
    answers.answers["/content/report"] = _json({"details": details})
    engine = _engine(server, store)
    try:
        (result,) = engine.results("j", ["a.wav"])
    finally:
        engine.close()
    assert isinstance(result.error, TransientEngineError)


def test_the_reports_failure_reaches_every_copy_of_the_same_recording(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    link = f"{server.url}/content/report"
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "TranscriptionReport", "name": "report.json", "links": {"contentUrl": link}},
    ]})  # fmt: skip
    answers.answers["/content/report"] = _json({"details": [
        {"source": "https://acc.blob.core.windows.net/c/a.wav", "status": "Failed", "errorKind": "InvalidData"},
    ]})  # fmt: skip
    engine = _engine(server, store)
    try:
        results = {r.index: r.error for r in engine.results("j", ["a.wav", "b.wav", "a.wav"])}
    finally:
        engine.close()
    assert {i: e.code if e else "" for i, e in results.items()} == {
        0: "service_refused_file", 1: "no_result", 2: "service_refused_file",
    }  # fmt: skip


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


def test_a_result_file_beyond_any_recordings_is_not_read_whole(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    link = f"{server.url}/content"
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "Transcription", "name": f"contenturl_{n}.json", "links": {"contentUrl": f"{link}/{n}"}}
        for n in range(2)
    ]})  # fmt: skip
    phrase = {"offsetInTicks": 0, "durationInTicks": 10, "nBest": [{"display": "word " * 400_000}]}
    answers.answers["/content/0"] = _json({"recognizedPhrases": [phrase]})  # 2 MB
    answers.answers["/content/1"] = _json(
        {"recognizedPhrases": [{**phrase, "nBest": [{"display": "Fine."}]}]}
    )
    engine = _engine(server, store)
    engine._client.max_result_bytes = 1 << 20  # 512 MB by default
    try:
        results = {r.index: r for r in engine.results("j", ["a.wav", "b.wav"])}
    finally:
        engine.close()
    assert results[0].error is not None and results[0].error.code == "result_too_large"
    assert results[1].transcript is not None and results[1].transcript.phrases[0].display == "Fine."


def test_a_recording_the_service_could_not_read_then_is_failed_for_the_next_run_to_send_again(
    hostile: tuple[RestServer, Hostile], store: BlobStore
) -> None:
    server, answers = hostile
    link, container = f"{server.url}/content/report", "https://acc.blob.core.windows.net/c"
    answers.answers["/speechtotext/transcriptions/j/files"] = _json({"values": [
        {"kind": "TranscriptionReport", "name": "report.json", "links": {"contentUrl": link}},
    ]})  # fmt: skip
    answers.answers["/content/report"] = _json({"details": [  # the job waited past its SAS' 48 h
        {"source": f"{container}/a.wav", "status": "Failed", "errorKind": "InaccessibleCustomerStorage"},
        {"source": f"{container}/b.wav", "status": "Failed", "errorKind": "InvalidData"},
    ]})  # fmt: skip
    engine = _engine(server, store)
    try:
        results = {r.index: r.error for r in engine.results("j", ["a.wav", "b.wav"])}
    finally:
        engine.close()
    assert [type(results[i]).__name__ for i in (0, 1)] == ["TransientEngineError", "PermanentEngineError"]
    assert all(e is not None and e.sdk_code and e.hint for e in results.values())
