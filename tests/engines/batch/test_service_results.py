"""Another implementation of the batch API, misbehaving in its results (``hostile.py``): files in
other shapes, numbers, orders and sizes, reports and error texts. A transcript is never taken for
another recording's, nothing crashes the collection, no secret or terminal control gets through."""

from __future__ import annotations

import json
import logging

import pytest

from batchscribe.emulator.rest import RestResponse, RestServer
from batchscribe.engines.batch.results import BadResult, transcript_from_result
from batchscribe.engines.batch.storage import BlobStore
from batchscribe.errors import PermanentEngineError, TransientEngineError
from tests.engines.batch.hostile import KEY, Answer, Hostile
from tests.engines.batch.hostile import answer as _json
from tests.engines.batch.hostile import engine as _engine


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
