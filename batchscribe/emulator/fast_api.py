"""The emulator's fast transcription API: ``POST /speechtotext/transcriptions:transcribe``.

Takes the multipart request the service takes (``audio`` and ``definition``), decodes the audio
(any format the pipeline's decoder reads; each requested channel on its own), recognizes the
recording by its sound (``fingerprint``, ``scripts``) and answers with the script's phrases on the
segments the energy detector finds, or placeholder text marked as such, in the service's 200
shape (AZURE_REST.md). It answers no earlier than the audio's length / ``speed`` after the
request arrived, and breaks on purpose with the emulator's faults, read per request:

    http:CODE         answer CODE (429 with ``Retry-After: 1``; 4xx/5xx with an error body)
    status:NAME       TooManyRequests -> 429, ServiceUnavailable -> 503, BadRequest -> 400,
                      Forbidden -> 403, Error -> 500; NoMatch & co -> 200 without phrases
    close:CODE        500
    reset             drop the connection without an answer (TCP reset)
    stall             answer only after ``STALL_S`` (the client's timeout comes first)

``first=N`` counts the emulator's fast requests; a recording's own faults (its script's
``faults``) and ``sessions=K`` count that recording's requests.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import numpy as np

from batchscribe.emulator import fingerprint
from batchscribe.emulator.answers import Answer, Answerer
from batchscribe.emulator.faults import Fault
from batchscribe.emulator.render import DEFAULT_CONFIDENCE, display_text
from batchscribe.emulator.rest import RestRequest, RestResponse, Route
from batchscribe.emulator.scripts import Transcripts
from batchscribe.emulator.segmenter import find_segments
from batchscribe.engines.base import EMULATOR_PLACEHOLDER_FIELD

PATH = r"/speechtotext/transcriptions:transcribe"
API_VERSIONS = ("2024-11-15", "2025-10-15")
SAMPLE_RATE = 16_000
STALL_S = 3600.0
RETRY_AFTER_S = "1"
_STATUS_CODES = {"TooManyRequests": 429, "ServiceUnavailable": 503, "BadRequest": 400,
                 "Forbidden": 403, "Error": 500}  # fmt: skip
_PROFANITY = {"None": "raw", "Removed": "removed", "Masked": "masked", "Tags": "masked"}


class FastApi:
    """The route's handler and what it keeps between requests (thread-safe)."""

    def __init__(
        self,
        transcripts: Transcripts,
        speed: float | None,
        faults: Callable[[], tuple[Fault, ...]],
        closed: threading.Event | None = None,
    ) -> None:
        self.transcripts = transcripts
        self.speed = speed
        self.faults = faults
        self.closed = closed or threading.Event()
        self._lock = threading.Lock()
        self._requests = 0
        self._per_recording: Counter[str] = Counter()
        self.recordings: Counter[str] = Counter()  # answered requests per recording key

    def routes(self) -> list[Route]:
        return [Route("POST", PATH, self.transcribe)]

    def transcribe(self, request: RestRequest) -> RestResponse:
        started = time.monotonic()
        with self._lock:
            self._requests += 1
            number = self._requests
        fault = next((f for f in self.faults() if f.hits(number, number)), None)
        if fault is not None and fault.kind in ("http", "close", "reset", "stall"):
            return _faulted(fault, self.closed)
        if request.query.get("api-version") not in API_VERSIONS:
            return RestResponse.error(400, "InvalidRequest", f"api-version must be one of {API_VERSIONS}")
        try:
            definition, audio = _parts(request)
        except ValueError as exc:
            return RestResponse.error(400, "InvalidRequest", str(exc))
        channels = definition.get("channels") or [None]
        try:
            tracks = [_decode(audio, channel) for channel in channels]
        except Exception as exc:  # the decoder's AudioError or anything else: unreadable audio
            return RestResponse.error(400, "InvalidAudioFormat", f"the audio cannot be decoded: {exc}")
        duration = max((t.size for t in tracks), default=0) / SAMPLE_RATE
        if duration <= 0:
            return RestResponse.error(400, "EmptyAudioFile", "the audio holds no samples")
        phrases: list[dict[str, Any]] = []
        for channel, samples in zip(channels, tracks, strict=True):
            answered = self._answer(samples, definition, channel, fault)
            if isinstance(answered, RestResponse):
                return answered
            phrases.extend(answered)
        phrases.sort(key=lambda p: (p["offsetMilliseconds"], p.get("channel", 0)))
        pace = 0.0 if self.speed is None else duration / self.speed - (time.monotonic() - started)
        if self.closed.wait(max(0.0, pace)):
            return RestResponse(0, abort=True)  # the emulator is stopping
        combined = [{"text": " ".join(p["text"] for p in phrases)}]
        return RestResponse.of_json(
            200,
            {"durationMilliseconds": round(duration * 1000), "combinedPhrases": combined, "phrases": phrases},
        )

    def _answer(
        self, samples: np.ndarray, definition: dict[str, Any], channel: int | None, fault: Fault | None
    ) -> list[dict[str, Any]] | RestResponse:
        envelope = fingerprint.envelope_of(samples, SAMPLE_RATE)
        entry = self.transcripts.identify(envelope, ended_at=samples.size / SAMPLE_RATE)
        key = entry.id if entry else f"audio-{fingerprint.digest(envelope)}"
        with self._lock:
            self._per_recording[key] += 1
            ordinal = self._per_recording[key]
        own = next((f for f in (entry.faults if entry else ()) if f.hits(1, ordinal)), None)
        for chosen in (own, fault):
            if chosen is None:
                continue
            if chosen.kind != "status":
                return _faulted(chosen, self.closed)
            if chosen.status in _STATUS_CODES:
                return _faulted(chosen, self.closed)
            return []  # NoMatch and the like: nothing recognized
        with self._lock:
            self.recordings[key] += 1
        return _phrases(Answerer(key, entry), samples, definition, channel)


def _faulted(fault: Fault, closed: threading.Event) -> RestResponse:
    if fault.kind == "reset":
        return RestResponse(0, abort=True)
    if fault.kind == "stall":
        closed.wait(STALL_S)  # until the client gives up, or the emulator stops
        return RestResponse(0, abort=True)
    code = fault.code if fault.kind == "http" else _STATUS_CODES.get(fault.status, 500)
    if code == 429:
        headers = {"Retry-After": RETRY_AFTER_S}
        return RestResponse.error(429, "TooManyRequests", "Too many requests (injected fault)", headers)
    name = "InvalidArgument" if 400 <= code < 500 else "InternalServerError"
    return RestResponse.error(code, name, f"injected fault {fault}")


def _parts(request: RestRequest) -> tuple[dict[str, Any], bytes]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValueError("expected multipart/form-data with 'audio' and 'definition'")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
    )
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload
    if "audio" not in fields:
        raise ValueError("the request has no 'audio' part")
    try:
        definition = json.loads(fields.get("definition") or b"{}")
    except ValueError as exc:
        raise ValueError(f"'definition' is not JSON: {exc}") from None
    if not isinstance(definition, dict):
        raise ValueError("'definition' must be a JSON object")
    return definition, fields["audio"]


def _decode(audio: bytes, channel: int | None) -> np.ndarray:
    """The upload (or one channel) as 16 kHz mono float samples, via the pipeline's decoder."""
    from batchscribe.audio import open_pcm

    with tempfile.TemporaryDirectory(prefix="batchscribe-emulator-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(audio)
        chunks = []
        with open_pcm(path, channel=channel) as reader:
            while chunk := reader.read(1 << 20):
                chunks.append(chunk)
    return np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32768.0


def _speaker(answer: Answer) -> int:
    tail = (answer.speaker or "Guest-1").rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def _words(text: str, offset_ms: int, duration_ms: int) -> list[dict[str, Any]]:
    tokens = text.split()
    weights = [len(w) + 1 for w in tokens]
    total, done, words = sum(weights) or 1, 0, []
    for token, weight in zip(tokens, weights, strict=True):
        start = offset_ms + duration_ms * done // total
        done += weight
        words.append({"text": token, "offsetMilliseconds": start,
                      "durationMilliseconds": offset_ms + duration_ms * done // total - start})  # fmt: skip
    return words


def _phrases(
    answerer: Answerer, samples: np.ndarray, definition: dict[str, Any], channel: int | None
) -> list[dict[str, Any]]:
    segments = find_segments(samples, SAMPLE_RATE)
    profanity = _PROFANITY.get(str(definition.get("profanityFilterMode") or "Masked"), "masked")
    locales = [str(x) for x in definition.get("locales") or ["en-US"]]
    diarization = definition.get("diarization")  # the official SDK sends only maxSpeakers
    diarized = isinstance(diarization, dict) and diarization.get("enabled", True) is not False
    out, lower = [], 0.0
    for index, (start, end) in enumerate(segments):
        answer = answerer.final(lower, start, end, last=index == len(segments) - 1)
        lower = end
        if answer is None:
            continue
        text = display_text(answer.text, profanity).strip()
        if not text:
            continue
        offset_ms, duration_ms = int(start * 1000), max(1, round((end - start) * 1000))
        phrase: dict[str, Any] = {
            "offsetMilliseconds": offset_ms,
            "durationMilliseconds": duration_ms,
            "text": text,
            "words": _words(text, offset_ms, duration_ms),
            "locale": answer.language if answer.language in locales else locales[0],
            "confidence": answer.confidence or DEFAULT_CONFIDENCE,
        }
        if channel is not None:
            phrase["channel"] = channel
        if diarized:
            phrase["speaker"] = _speaker(answer)
        if answer.placeholder:  # not a field of the live service: only the emulator says this
            phrase[EMULATOR_PLACEHOLDER_FIELD] = True
        out.append(phrase)
    return out


def fast_routes(
    transcripts: Transcripts,
    speed: float | None,
    faults: Callable[[], tuple[Fault, ...]],
    closed: threading.Event | None = None,
) -> list[Route]:
    """The fast transcription route, for ``apis.routes``."""
    return FastApi(transcripts, speed, faults, closed).routes()
