"""Fast transcription's request and answer in batchscribe's terms, and what its failures mean:
settings -> ``definition``, the 200 answer -> phrases, status codes -> the three error classes,
``--region``/``--endpoint`` -> where requests go, and the parts a long recording becomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchscribe.audio.chunk_plan import plan_within
from batchscribe.cancel import CancelToken
from batchscribe.config.resource import Resource
from batchscribe.config.settings import Endpoint
from batchscribe.engines.base import TICKS_PER_SECOND, RecognitionOptions
from batchscribe.engines.fast import RateCap, base_url
from batchscribe.engines.fast_body import wav_header
from batchscribe.engines.fast_errors import error_from_response
from batchscribe.engines.fast_mapping import (
    FastLimits,
    definition,
    limitations,
    refusal,
    transcript_phrases,
)
from batchscribe.errors import (
    FatalEngineError,
    FileCancelled,
    PermanentEngineError,
    TransientEngineError,
    UsageError,
)
from tests.cli.test_options import jobs_file, parsed


def test_every_setting_goes_into_the_definition() -> None:
    options = RecognitionOptions(languages=("en-US", "de-DE"), diarize=True, profanity="raw",
                                 phrases=("Contoso", "Jessie"))  # fmt: skip
    assert definition(options, channels=(0, 1), max_speakers=4) == {
        "locales": ["en-US", "de-DE"],
        "diarization": {"enabled": True, "maxSpeakers": 4},
        "channels": [0, 1],
        "profanityFilterMode": "None",
        "phraseList": {"phrases": ["Contoso", "Jessie"]},
    }
    assert definition(RecognitionOptions(language="fr-FR")) == {
        "locales": ["fr-FR"],
        "profanityFilterMode": "Masked",
    }


def test_what_the_fast_api_cannot_do_is_said_and_a_custom_model_is_refused() -> None:
    assert limitations(RecognitionOptions(detailed=False)) == ()
    said = " ".join(limitations(RecognitionOptions(word_timestamps=True)))
    assert "lexical" in said and "per-word confidence" in said
    refused = refusal(RecognitionOptions(endpoint_id="0a1b"))
    assert isinstance(refused, UsageError) and "--endpoint-id" in refused.message
    assert refusal(RecognitionOptions()) is None


ANSWER = {
    "durationMilliseconds": 9000,
    "combinedPhrases": [{"channel": 0, "text": "Hi there. Hello."}],
    "phrases": [
        {"channel": 1, "speaker": 2, "offsetMilliseconds": 4200, "durationMilliseconds": 800, "text": "Hello.",
         "locale": "de-DE", "confidence": 0.81,
         "words": [{"text": "Hello.", "offsetMilliseconds": 4200, "durationMilliseconds": 800}]},
        {"channel": 0, "offsetMilliseconds": 1500, "durationMilliseconds": 1250, "text": "Hi there.",
         "locale": "en-US", "confidence": 0.9,
         "words": [{"text": "Hi", "offsetMilliseconds": 1500, "durationMilliseconds": 400},
                   {"text": "there.", "offsetMilliseconds": 1900, "durationMilliseconds": 850}]},
        {"offsetMilliseconds": 7000, "durationMilliseconds": 500, "text": "  "},
    ],
}  # fmt: skip


def test_the_answer_becomes_phrases_in_ticks_in_time_order() -> None:
    first, second = transcript_phrases(ANSWER)
    assert (first.offset_ticks, first.duration_ticks) == (15_000_000, 12_500_000)
    assert first.display == "Hi there." and first.locale == "en-US" and first.confidence == 0.9
    assert [(w.word, w.offset_ticks) for w in first.words] == [("Hi", 15_000_000), ("there.", 19_000_000)]
    assert all(w.confidence is None for w in first.words)
    assert (second.channel, second.speaker, second.locale) == (1, 2, "de-DE")
    assert first.lexical == "" and first.speaker is None  # display only; no speaker without diarization


def test_one_channel_sent_labels_every_phrase_and_words_can_be_left_out() -> None:
    phrases = transcript_phrases(ANSWER, channel=1, words=False)
    assert {p.channel for p in phrases} == {1} and all(p.words == () for p in phrases)


@pytest.mark.parametrize("document", [[], {"phrases": "none"}, None])
def test_an_answer_of_another_shape_is_refused(document: object) -> None:
    with pytest.raises(ValueError, match="phrases"):
        transcript_phrases(document)


def _failure(status: int, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return error_from_response(
        status, headers or {}, json.dumps(body).encode(), lambda text: text.replace("SECRET", "***")
    )


def test_throttling_is_transient_and_says_how_long_to_wait() -> None:
    failure = _failure(429, {"code": "TooManyRequests", "message": "slow down"}, {"retry-after": "7"})
    assert isinstance(failure.exception, TransientEngineError) and failure.retry_after_s == 7.0
    assert failure.exception.code == "throttled"
    assert _failure(429, {}, {"retry-after": "9999"}).retry_after_s == 120.0


def test_a_bad_request_is_permanent_with_the_services_inner_code_message_and_a_hint() -> None:
    failure = _failure(400, {"code": "InvalidRequest", "message": "bad audio from key SECRET",
                             "innerError": {"code": "InvalidAudioFormat", "message": "x"}})  # fmt: skip
    error = failure.exception
    assert isinstance(error, PermanentEngineError) and error.sdk_code == "InvalidAudioFormat"
    assert "HTTP 400 InvalidAudioFormat: bad audio from key ***" in error.message
    assert "SECRET" not in error.message and "WAV or FLAC" in error.hint


@pytest.mark.parametrize(("status", "kind"), [(500, TransientEngineError), (503, TransientEngineError),
                                              (408, TransientEngineError), (401, FatalEngineError),
                                              (403, FatalEngineError), (404, PermanentEngineError)])  # fmt: skip
def test_status_codes_fall_into_the_three_classes(status: int, kind: type) -> None:
    assert type(_failure(status, "not json").exception) is kind


def test_where_requests_go() -> None:
    assert (
        base_url(Endpoint(kind="region", region="westeurope"))
        == "https://westeurope.api.cognitive.microsoft.com"
    )
    custom = Endpoint(kind="endpoint", url="https://my-speech.cognitiveservices.azure.com/speechtotext")
    assert base_url(custom) == "https://my-speech.cognitiveservices.azure.com"
    assert base_url(Endpoint(kind="endpoint", url="http://127.0.0.1:8123")) == "http://127.0.0.1:8123"
    assert base_url(Endpoint(kind="endpoint", url="http://[::1]:80/x")) == "http://[::1]:80"


@pytest.mark.parametrize("endpoint", [
    Endpoint(kind="endpoint", url="http://speech.example.com"),
    Endpoint(kind="endpoint", url="wss://westeurope.stt.speech.microsoft.com"),
    Endpoint(kind="host", url="ws://localhost:5000"),
    Endpoint(kind="region", region="westeurope", resource=Resource("region", "westeurope", entra=True, resource_id="/subscriptions/s/x")),
])  # fmt: skip
def test_no_key_in_clear_no_container_and_entra_only_with_a_custom_domain(endpoint: Endpoint) -> None:
    with pytest.raises(UsageError):
        base_url(endpoint)


def test_parts_stay_within_the_limit_even_when_each_cut_moves_to_a_pause() -> None:
    assert plan_within(7000.0, 7200.0).chunks == 1
    for duration in (7300.0, 3 * 3600.0, 10 * 3600.0):
        plan = plan_within(duration, 7200.0)
        assert plan.chunk_seconds + 2 * plan.window_seconds <= 7200.0
    assert FastLimits(max_bytes=44 + 32_000 * 60).part_seconds == 60.0  # 300 MB of 16 kHz WAV


def test_the_wav_header_says_how_much_follows() -> None:
    header = wav_header(32_000)
    assert len(header) == 44 and header[:4] == b"RIFF" and int.from_bytes(header[40:44], "little") == 32_000
    assert int.from_bytes(header[24:28], "little") == 16_000 and TICKS_PER_SECOND == 10_000_000


def test_max_speakers_and_requests_per_minute_come_from_the_command_line_or_a_job(tmp_path: Path) -> None:
    [default] = parsed(str(tmp_path))
    assert (default.max_speakers, default.fast_limits.requests_per_minute) == (2, 600)
    [given] = parsed(str(tmp_path), "--max-speakers", "5", "--requests-per-minute", "120")
    assert (given.max_speakers, given.fast_limits.requests_per_minute) == (5, 120)
    jobs = jobs_file(
        tmp_path,
        f"""
        defaults: {{requests_per_minute: 60}}
        jobs:
          a: {{inputs: [{tmp_path}], out: {tmp_path}/a, max_speakers: 3}}
    """,
    )
    [job] = parsed("--jobs", str(jobs))
    assert (job.max_speakers, job.fast_limits.requests_per_minute) == (3, 60)
    with pytest.raises(UsageError, match="max_speakers"):
        parsed("--jobs", str(jobs_file(tmp_path, f"jobs: {{a: {{inputs: [{tmp_path}], max_speakers: 40}}}}")))


def test_the_requests_per_minute_cap_holds_the_next_request_back() -> None:
    cap, waiting = RateCap(2), CancelToken()
    cap.acquire(waiting)
    cap.acquire(waiting)
    waiting.cancel("interrupted")  # a third within the minute would wait: it is cancelled instead
    with pytest.raises(FileCancelled):
        cap.acquire(waiting)


def test_a_request_may_take_longer_the_longer_its_audio() -> None:
    limits = FastLimits()
    assert limits.timeout_s(0) == 60.0 and limits.timeout_s(3600) == 60.0 + 1800.0
