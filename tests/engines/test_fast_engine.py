"""``--engine fast`` against the emulator's fast transcription API: real httpx, real HTTP, the
run's writers and ledger; what is sent, what comes back, and what each fault does."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from batchscribe.audio import probe
from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenProvider
from batchscribe.config.resource import Resource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator, ScriptPhrase
from batchscribe.emulator.fast_api import PATH
from batchscribe.engines.base import RecognitionOptions, RecognitionRequest
from batchscribe.engines.fast import FastEngine
from batchscribe.engines.fast_mapping import FastLimits
from batchscribe.errors import FileCancelled
from batchscribe.running.run import run_batch
from tests.config.test_entra import Clock, FakeCredential
from tests.conftest import Recordings, spans_samples

pytestmark = pytest.mark.integration


def fast_settings(emulator: Emulator, recordings: Recordings, out: Path, **changes: object) -> RunSettings:
    settings = RunSettings(
        inputs=(recordings.root,),
        out=out,
        endpoint=Endpoint(kind="emulator", key="emulator", url=emulator.rest_url),
        engine="fast",
        retries=3,
        settle_seconds=0,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


def answered(emulator: Emulator, status: int = 200) -> int:
    return emulator.rest_stats().snapshot().get((PATH, status), 0)


def document(out: Path, source: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / f"{source}.json").read_text())


def test_a_folder_comes_back_with_the_scripts_text_in_the_same_outputs_naming_the_engine(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1, [ScriptPhrase("Good morning."), ScriptPhrase("How can I help?")], seconds=6)
    recordings.add("sub/b.wav", 2, "Recording two says hello.")
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    settings = fast_settings(
        emulator, recordings, out, formats=("json", "txt", "srt", "vtt"), timestamps=True
    )
    result = run_batch(settings)
    assert result.succeeded_count == 2 and result.failed_count == 0
    assert answered(emulator) == 2
    a = document(out, "a.wav")
    assert a["combinedRecognizedPhrases"][0]["display"] == "Good morning. How can I help?"
    assert a["batchscribe"]["engine"] == "emulator-fast"
    offsets = [p["offsetInTicks"] for p in a["recognizedPhrases"]]
    assert offsets == sorted(offsets) and offsets[0] > 0
    assert (
        document(out, "sub/b.wav")["combinedRecognizedPhrases"][0]["display"] == "Recording two says hello."
    )
    assert "Good morning." in (out / "a.wav.srt").read_text()
    assert "How can I help?" in (out / "a.wav.vtt").read_text()
    assert (out / "sub/b.wav.txt").read_text().strip().endswith("Recording two says hello.")


def test_changing_only_the_engine_redoes_nothing_and_force_does(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    first = run_batch(replace(fast_settings(emulator, recordings, out), engine="realtime",
                              endpoint=Endpoint(kind="emulator", key="emulator", url=emulator.url)))  # fmt: skip
    assert first.succeeded_count == 1
    again = run_batch(fast_settings(emulator, recordings, out))
    assert again.succeeded_count == 0 and answered(emulator) == 0
    forced = run_batch(fast_settings(emulator, recordings, out, force=True))
    assert forced.succeeded_count == 1 and answered(emulator) == 1
    assert document(out, "a.wav")["batchscribe"]["engine"] == "emulator-fast"


def test_settings_go_into_the_definition_and_come_back_in_the_phrases(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    phrases = [ScriptPhrase("Bonjour à tous.", speaker="Guest-2", language="fr-FR"),
               ScriptPhrase("Damn it, hello.", speaker="Guest-1", language="en-US")]  # fmt: skip
    recordings.add("a.wav", 3, phrases, seconds=6)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    options = RecognitionOptions(languages=("en-US", "fr-FR"), diarize=True, profanity="removed",
                                 word_timestamps=True)  # fmt: skip
    result = run_batch(fast_settings(emulator, recordings, out, options=options))
    assert result.succeeded_count == 1
    recognized = document(out, "a.wav")["recognizedPhrases"]
    assert [(p["speaker"], p["locale"]) for p in recognized] == [(2, "fr-FR"), (1, "en-US")]
    assert recognized[1]["nBest"][0]["display"] == "it, hello."  # "Removed" profanity
    assert [w["word"] for w in recognized[1]["nBest"][0]["words"]] == ["it,", "hello."]
    warnings = " ".join(w for f in result.files for w in f.warnings)
    assert "no per-word confidence" in warnings and "lexical" in warnings


def test_a_recording_over_the_limit_is_cut_at_pauses_into_parts_and_stitched(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    pattern = [("sil", 0.5)] + [("speech", 3.0), ("sil", 1.0)] * 8  # 32.5 s
    recordings.add("long.wav", 4, samples=spans_samples(4, pattern))
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    limits = FastLimits(max_seconds=12.0)
    result = run_batch(fast_settings(emulator, recordings, out, fast_limits=limits))
    assert result.succeeded_count == 1
    assert answered(emulator) == 4  # ceil(32.5 * 1.2 / 12)
    doc = document(out, "long.wav")
    spans = doc["batchscribe"]["chunks"]
    assert len(spans) == 4 and all(c["end_s"] - c["start_s"] <= 12.0 for c in spans)
    offsets = [p["offsetInTicks"] for p in doc["recognizedPhrases"]]
    assert len(offsets) == 8 and offsets == sorted(offsets)
    assert offsets[-1] > 28 * 10_000_000  # the last burst, in file time


def test_throttling_waits_for_retry_after_then_succeeds(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings, faults=["http:429:first=2"])
    result = run_batch(fast_settings(emulator, recordings, tmp_path / "out"))
    assert result.succeeded_count == 1
    assert answered(emulator, 429) == 2 and answered(emulator) == 1
    assert result.files[0].attempts == 3
    assert result.counts.throttled >= 1


@pytest.mark.parametrize("fault", ["http:500:first=1", "reset:first=1", "status:ServiceUnavailable:first=1"])
def test_server_errors_and_resets_are_retried(
    fault: str,
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings, faults=[fault])
    result = run_batch(fast_settings(emulator, recordings, tmp_path / "out"))
    assert result.succeeded_count == 1 and result.files[0].attempts == 2
    assert answered(emulator) == 1


def test_no_answer_within_the_timeout_is_retried(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings, faults=["stall:first=1"])
    limits = FastLimits(timeout_base_s=1.0, timeout_per_audio_s=0.0)
    result = run_batch(fast_settings(emulator, recordings, tmp_path / "out", fast_limits=limits))
    assert result.succeeded_count == 1 and result.files[0].attempts == 2


def test_a_bad_request_fails_the_file_at_once_with_the_services_code_and_message(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1, faults=["status:BadRequest:sessions=5"])
    recordings.add("b.wav", 2)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    result = run_batch(fast_settings(emulator, recordings, out))
    assert result.succeeded_count == 1 and result.failed_count == 1
    [failed] = [f for f in result.files if f.status == "failed"]
    assert failed.attempts == 1 and failed.failure is not None and failed.failure.code == "bad_request"
    assert "HTTP 400 InvalidArgument" in failed.failure.message
    assert not (out / "a.wav.json").exists()


def test_a_rejected_key_aborts_the_run(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings, key="right-key-0123456789")
    settings = fast_settings(emulator, recordings, tmp_path / "out")
    settings = replace(
        settings, endpoint=replace(settings.endpoint, kind="endpoint", key="wrong-key-0123456789")
    )
    result = run_batch(settings)
    assert result.aborted and "401" in result.aborted
    assert "wrong-key-0123456789" not in result.aborted


def test_entra_id_sends_a_bearer_token_and_never_a_key(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    recordings.add("a.wav", 1)
    emulator = emulator_for(recordings, key="only-with-this-key-0123", tokens=["secret-token-1"])
    tokens = TokenProvider(FakeCredential(Clock()), clock=Clock())
    settings = fast_settings(emulator, recordings, tmp_path / "out")
    settings = replace(settings, endpoint=Endpoint(kind="endpoint", url=emulator.rest_url, tokens=tokens))
    result = run_batch(settings)
    assert result.succeeded_count == 1 and answered(emulator) == 1


def test_requests_spread_over_several_resources_and_one_throttling_does_not_fail_files(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    for seed in range(1, 7):
        recordings.add(f"r{seed}.wav", seed, seconds=2.0)
    calm, throttled = emulator_for(recordings), emulator_for(recordings, faults=["http:429:first=3"])
    resources = tuple(
        Endpoint(kind="endpoint", key="emulator", url=e.rest_url,
                 resource=Resource("endpoint", e.rest_url, key_variable="K", max_sessions=2, label=name))
        for name, e in (("calm", calm), ("throttled", throttled))
    )  # fmt: skip
    settings = replace(
        fast_settings(calm, recordings, tmp_path / "out"), endpoint=resources[0], resources=resources
    )
    result = run_batch(settings)
    assert result.succeeded_count == 6 and result.failed_count == 0
    assert answered(calm) + answered(throttled) == 6 and answered(calm) >= 1
    assert answered(throttled, 429) >= 1  # then the pool sends more to the calm one


def test_a_cancelled_request_returns_at_once_without_waiting_for_the_answer(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    path = recordings.add("a.wav", 1, seconds=4.0)
    emulator = emulator_for(recordings, speed=0.05)  # would answer after 80 s
    engine = FastEngine(Endpoint(kind="emulator", key="emulator", url=emulator.rest_url), RecognitionOptions(),
                        spool_dir=tmp_path / "spool")  # fmt: skip
    uploaded, cancel = threading.Event(), CancelToken()

    def progress(seconds: float) -> None:
        if seconds >= 2.0:  # half of the recording's seconds: the whole upload is sent
            uploaded.set()

    outcome: list[BaseException] = []

    def transcribe() -> None:
        try:
            engine.transcribe(RecognitionRequest(path, probe(path)), on_progress=progress, cancel=cancel)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=transcribe)
    worker.start()
    assert uploaded.wait(30)
    started = time.monotonic()
    cancel.cancel("interrupted")
    worker.join(30)
    engine.close()
    assert not worker.is_alive() and time.monotonic() - started < 5.0
    assert isinstance(outcome[0], FileCancelled)


def test_over_the_limit_a_recording_is_cut_even_with_split_off_and_diarize_and_says_so(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    pattern = [("sil", 0.5)] + [("speech", 3.0), ("sil", 1.0)] * 5  # 20.5 s
    recordings.add("long.wav", 5, samples=spans_samples(5, pattern))
    recordings.add("short.wav", 6, seconds=4.0)
    emulator = emulator_for(recordings)
    settings = fast_settings(emulator, recordings, tmp_path / "out", split="off",
                             options=RecognitionOptions(diarize=True), fast_limits=FastLimits(max_seconds=12.0))  # fmt: skip
    result = run_batch(settings)
    assert result.succeeded_count == 2
    assert answered(emulator) == 3 + 1  # ceil(20.5 * 1.2 / 12) parts, and the short one whole
    warnings = {f.source: " ".join(f.warnings) for f in result.files}
    assert "speaker labels may not match across parts" in warnings["long.wav"]
    assert "speaker labels" not in warnings["short.wav"]
