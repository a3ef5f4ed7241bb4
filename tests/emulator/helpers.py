"""Helpers for the emulator tests: generated recordings and a driver for the real Speech SDK.

``run_sdk`` drives the real Speech SDK through continuous recognition against the emulator and
returns what every event carried (copied inside the callbacks: the SDK's objects do not outlive
them). It waits on a ``threading.Event``, never sleeps, and always releases the recognizer so no
SDK thread or connection outlives the test.
"""

from __future__ import annotations

import gc
import threading
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16_000
FAST_SEND = {
    # After its first 5 s the SDK sends at 2x real time; 50x keeps long recordings quick. Measured
    # with 1.53: with any throttle above the default, a session that fails takes ~11 s longer to
    # report it (with 50x too, though not with 10x: tests of failures keep the default), and an
    # unthrottled send (SPEECH-TransmitLengthBeforeThrottleMs, also spelled ...BeforThrottleMs
    # in the native library) overflows the SDK's 60 s replay buffer before anything is answered.
    "SPEECH-AudioThrottleAsPercentageOfRealTime": "5000",
}


def tone_pcm(pattern: Sequence[tuple[str, float]], rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Float samples: ``("tone", s)`` bursts (each a new pitch), ``("noise", s)``, ``("sil", s)``."""
    rng = np.random.default_rng(seed)
    parts, pitch = [], 300.0 + 40 * seed
    for kind, seconds in pattern:
        t = np.arange(int(rate * seconds)) / rate
        if kind == "tone":
            pitch += 37
            parts.append(0.3 * np.sin(2 * np.pi * pitch * t))
        elif kind == "noise":
            parts.append(0.1 * np.clip(rng.standard_normal(t.size), -3, 3))
        else:
            parts.append(np.zeros(t.size))
    return np.concatenate(parts) if parts else np.zeros(0)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def pcm_bytes(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    n = int(samples.size * new_rate / rate)
    return np.interp(np.arange(n) * rate / new_rate, np.arange(samples.size), samples)


@dataclass
class Recognized:
    reason: str
    text: str
    offset: int
    duration: int
    json: dict[str, Any]
    speaker: str = ""
    language: str = ""
    no_match_reason: str = ""


@dataclass
class SdkRun:
    events: list[str] = field(default_factory=list)
    recognized: list[Recognized] = field(default_factory=list)
    recognizing: list[str] = field(default_factory=list)
    cancel_reason: str = ""
    cancel_code: str = ""
    cancel_details: str = ""
    stopped: bool = False
    finished_in_time: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.recognized if r.reason == "RecognizedSpeech"]


def _record(run: SdkRun, done: threading.Event, name: str) -> Callable[[Any], None]:
    import json

    import azure.cognitiveservices.speech as speechsdk

    def callback(evt: Any) -> None:
        try:
            run.events.append(name)
            if name in ("recognized", "transcribed"):
                result = evt.result
                speaker = getattr(result, "speaker_id", "") or ""
                language = speechsdk.AutoDetectSourceLanguageResult(result).language or ""
                no_match = ""
                if result.reason == speechsdk.ResultReason.NoMatch:
                    no_match = result.no_match_details.reason.name
                run.recognized.append(
                    Recognized(
                        result.reason.name,
                        result.text,
                        result.offset,
                        result.duration,
                        json.loads(result.json or "{}"),
                        speaker,
                        language,
                        no_match,
                    )
                )
            elif name in ("recognizing", "transcribing"):
                run.recognizing.append(evt.result.text)
            elif name == "canceled":
                details = evt.cancellation_details
                run.cancel_reason = details.reason.name
                run.cancel_code = details.code.name
                run.cancel_details = details.error_details
            elif name == "session_stopped":
                run.stopped = True
                done.set()
        except Exception as exc:  # the SDK swallows callback errors: keep them for the test
            run.errors.append(repr(exc))
            done.set()

    return callback


def run_sdk(
    url: str,
    audio: Path | Callable[[Any], Any],
    *,
    detailed: bool = False,
    languages: Sequence[str] = (),
    transcriber: bool = False,
    fast: bool = True,
    timeout: float = 30.0,
    on_timeout: Callable[[], None] | None = None,
    properties: dict[str, str] | None = None,
    language: str = "en-US",
    profanity: Any = None,
    subscription: str | None = "test-key",
    auth_token: str | None = None,
    after_start: Callable[[Any], None] | None = None,
) -> SdkRun:
    """Continuous recognition of ``audio`` until session_stopped.

    ``audio`` is a WAV path, or a function that returns an AudioConfig. ``fast`` lifts the SDK's
    send throttle; turn it off for failing sessions, whose report it delays by ~11 s. When no
    session_stopped comes within ``timeout``, ``on_timeout`` is called (e.g. to stop the
    emulator, so that the SDK gives up by itself: stopping a stuck recognizer costs ~10 s) and
    the recognizer is released without being stopped; otherwise that is recorded in ``errors``.
    ``auth_token`` is set as ``config.authorization_token`` (SDK 1.53 refuses it next to
    ``host=`` in the constructor); ``subscription=None`` sends no key. ``after_start`` is called
    with the recognizer once recognition started (e.g. to feed a push stream, or refresh a token).
    """
    import azure.cognitiveservices.speech as speechsdk

    config = speechsdk.SpeechConfig(host=url, subscription=subscription)
    if auth_token is not None:
        config.authorization_token = auth_token
    for name, value in {**(FAST_SEND if fast else {}), **(properties or {})}.items():
        config.set_property_by_name(name, value)
    if profanity is not None:
        config.set_profanity(profanity)
    if detailed:
        config.output_format = speechsdk.OutputFormat.Detailed
        config.request_word_level_timestamps()
    audio_config = (
        speechsdk.audio.AudioConfig(filename=str(audio)) if isinstance(audio, Path) else audio(config)
    )
    kwargs: dict[str, Any] = {"audio_config": audio_config}
    if languages:
        config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
        kwargs["auto_detect_source_language_config"] = (
            speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=list(languages))
        )
    else:
        kwargs["language"] = language
    if transcriber:
        recognizer: Any = speechsdk.transcription.ConversationTranscriber(config, **kwargs)
        start, stop = recognizer.start_transcribing_async, recognizer.stop_transcribing_async
        signals = ["transcribing", "transcribed"]
    else:
        recognizer = speechsdk.SpeechRecognizer(config, **kwargs)
        start = recognizer.start_continuous_recognition_async
        stop = recognizer.stop_continuous_recognition_async
        signals = ["recognizing", "recognized"]
    signals += ["canceled", "session_started", "session_stopped", "speech_start_detected",
                "speech_end_detected"]  # fmt: skip
    run, done = SdkRun(), threading.Event()
    for name in signals:
        getattr(recognizer, name).connect(_record(run, done, name))
    try:
        start().get()
        if after_start is not None:
            after_start(recognizer)
        run.finished_in_time = done.wait(timeout)
        if run.finished_in_time:
            stop().get()
        elif on_timeout is not None:
            on_timeout()
            done.wait(timeout)
        else:
            run.errors.append(f"no session_stopped within {timeout} s; events: {run.events[-8:]}")
            stop()
    finally:
        for name in signals:
            getattr(recognizer, name).disconnect_all()
        del recognizer, audio_config, start, stop
        gc.collect()
    return run
