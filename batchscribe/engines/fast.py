"""``FastEngine``: Azure's fast transcription API, one recording (or part) per HTTP request.

A request engine (ARCHITECTURE.md, "Engines: three shapes"): ``transcribe`` sends the audio as
one multipart POST to ``{base}/speechtotext/transcriptions:transcribe?api-version=2025-10-15``
(``fast_body``: streamed from disk) and maps the answer into the same ``Transcript`` the real-time
engine returns (``fast_mapping``), so the same writers, ledger and report follow.

- Where: ``base_url(endpoint)``: ``--region`` -> ``https://REGION.api.cognitive.microsoft.com``,
  ``--endpoint`` as given (plain ``http://`` only to a loopback address: a key never travels in
  clear), ``--emulate`` -> the emulator's REST side.
- Who: ``Ocp-Apim-Subscription-Key``, or ``Authorization: Bearer`` with Entra ID.
- Pacing: the run's adaptive limiter bounds requests in flight per resource (a 429 or 503 halves
  it); ``RateCap`` keeps each resource under its requests per minute; a 429's ``Retry-After`` is
  waited out before the attempt fails as transient, so the retry cannot come earlier.
- Failures (``fast_errors``): 429/5xx/timeouts/resets are transient (retried with backoff by the
  runner), other 4xx permanent with the service's code and message, 401/403 fatal.
- Cancel: the request runs on a helper thread; a cancelled file returns at once (its upload is
  stopped) and the helper ends within the request's timeout.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from batchscribe.cancel import CancelToken
from batchscribe.engines.base import (
    Congestion,
    ProgressCallback,
    RecognitionOptions,
    RecognitionRequest,
    SpeechEndpoint,
    Transcript,
)
from batchscribe.engines.fast_body import (
    Upload,
    converted_upload,
    file_upload,
    multipart,
    pcm_upload,
    taken_as_is,
)
from batchscribe.engines.fast_errors import error_from_response, error_from_transport, invalid_answer
from batchscribe.engines.fast_mapping import (
    API_VERSION,
    DEFAULT_MAX_SPEAKERS,
    TRANSCRIBE_PATH,
    AnswerError,
    FastLimits,
    definition,
    limitations,
    refusal,
    transcript_phrases,
)
from batchscribe.errors import FileCancelled, FileError, UsageError
from batchscribe.secrets import Redactor

CONNECT_TIMEOUT_S = 15.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(endpoint: SpeechEndpoint) -> str:
    """Where fast transcription is for this endpoint: ``scheme://host[:port]``, no path."""
    if endpoint.kind == "region":
        if endpoint.entra:
            raise UsageError(
                "Entra ID sign-in needs the resource's custom domain with --engine fast",
                hint="give --endpoint https://NAME.cognitiveservices.azure.com instead of --region",
            )
        return f"https://{endpoint.region}.api.cognitive.microsoft.com"
    if endpoint.kind == "host":
        raise UsageError(
            "--host is for real-time containers; the fast engine needs --region or --endpoint",
            hint="give --region, or --endpoint https://NAME.cognitiveservices.azure.com",
        )
    parts = urlsplit(endpoint.url)
    if parts.scheme == "https" and parts.hostname:
        return f"https://{parts.netloc.rpartition('@')[2]}"
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return f"http://{parts.netloc.rpartition('@')[2]}"
    if parts.scheme == "http":
        raise UsageError(
            f"--endpoint {parts.scheme}://{parts.hostname} is plain http to another machine: "
            "a key must not travel in clear",
            hint="use https://, or http:// only to 127.0.0.1",
        )
    raise UsageError(
        f"--endpoint {parts.scheme}://{parts.hostname or ''} is not an https:// address for --engine fast",
        hint="give --endpoint https://NAME.cognitiveservices.azure.com or --region",
    )


class RateCap:
    """At most ``per_minute`` requests started in any 60 s, waited for (cancellably)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, cancel: CancelToken) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._starts and now - self._starts[0] >= 60.0:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                wait = 60.0 - (now - self._starts[0])
            if cancel.wait(wait):
                raise FileCancelled(cancel.reason or "cancelled")


class FastEngine:
    """Transcribes with Azure's fast transcription API (or the emulator's)."""

    def __init__(
        self,
        endpoint: SpeechEndpoint,
        options: RecognitionOptions,
        *,
        spool_dir: Path,
        limits: FastLimits | None = None,
        congestion: Congestion | None = None,
        channels_separate: bool = False,
        max_speakers: int = DEFAULT_MAX_SPEAKERS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``spool_dir``: where recordings in formats the service does not take are converted
        (one temporary WAV per request, removed after). ``channels_separate``: a stereo recording
        is sent once with ``channels [0, 1]``."""
        if (refused := refusal(options)) is not None:
            raise refused
        self.name = "emulator-fast" if endpoint.kind == "emulator" else "azure-fast"
        self.limits = limits or FastLimits()
        self._url = f"{base_url(endpoint)}{TRANSCRIBE_PATH}?api-version={API_VERSION}"
        self._endpoint = endpoint
        self._options = options
        self._spool_dir = spool_dir
        self._congestion = congestion
        self._channels_separate = channels_separate
        self._max_speakers = max_speakers
        self._notes = limitations(options)
        self._rate = RateCap(self.limits.requests_per_minute)
        tokens = endpoint.tokens
        self._redact = Redactor(endpoint.secrets, live=tokens.secrets if tokens is not None else None)
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    def close(self) -> None:
        self._client.close()

    def _headers(self) -> dict[str, str]:
        tokens = self._endpoint.tokens
        if tokens is not None:
            return {"Authorization": f"Bearer {tokens.token()}"}
        return {"Ocp-Apim-Subscription-Key": self._endpoint.key or "emulator"}

    def _upload(self, request: RecognitionRequest, cancel: CancelToken) -> tuple[Upload, tuple[int, ...]]:
        """The audio to send and the channels to ask for."""
        if request.pcm is not None:
            return pcm_upload(request.pcm, request.path.name), ()
        stereo = request.audio.channels >= 2
        if request.channel is None and taken_as_is(request.audio):
            upload = file_upload(request.path, request.audio)  # AudioError if it is gone
            if upload.size <= self.limits.max_bytes:
                return upload, (0, 1) if self._channels_separate and stereo else ()
            upload.close()  # too big as it is: sent as 16 kHz WAV instead
        return converted_upload(
            request.path, channel=request.channel, spool_dir=self._spool_dir, cancel=cancel
        ), ()

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        if (
            self._channels_separate
            and request.pcm is None
            and request.channel is None
            and request.audio.channels >= 2
            # the service takes no diarization with two channels: then one request per channel
            and (not taken_as_is(request.audio) or self._options.diarize)
        ):
            return self._per_channel(request, on_progress=on_progress, cancel=cancel)
        self._rate.acquire(cancel)
        congestion = request.congestion or self._congestion
        upload, channels = self._upload(request, cancel)
        try:
            seconds = request.pcm.length / 32000 if request.pcm is not None else request.audio.duration_s
            document = self._send(upload, channels, seconds, congestion, on_progress, cancel)
            receipt = upload.finish()
        finally:
            upload.close()
        try:
            phrases = transcript_phrases(
                document, channel=request.channel, words=self._options.word_timestamps
            )
        except AnswerError as exc:
            raise invalid_answer(str(exc)) from None
        on_progress(seconds)
        return Transcript(phrases=phrases, warnings=upload.warnings + self._notes, receipt=receipt)

    def _per_channel(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        """A stereo recording the service cannot take as it is, or one to diarize: one converted
        request per channel."""
        from batchscribe.engines.channels import SeparateChannels

        return SeparateChannels(_OneChannel(self)).transcribe(request, on_progress=on_progress, cancel=cancel)

    def _send(
        self,
        upload: Upload,
        channels: tuple[int, ...],
        seconds: float,
        congestion: Congestion | None,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> object:
        stop = threading.Event()
        total = max(1, upload.size)
        admitted = [False]

        def sent(n: int) -> None:
            if not admitted[0] and congestion is not None:
                admitted[0] = True
                congestion.connected(0.0)  # the service took the connection and the upload
            on_progress(seconds * 0.5 * n / total)  # half for the upload, the rest on the answer

        body = multipart(
            definition(self._options, channels=channels, max_speakers=self._max_speakers),
            upload,
            on_sent=sent,
            stop=stop,
        )
        timeout = self.limits.timeout_s(seconds)
        outcome: list[object] = []
        done = threading.Event()

        def call() -> None:
            try:
                response = self._client.post(
                    self._url,
                    content=body.stream,
                    headers={
                        **self._headers(),
                        "Content-Type": body.content_type,
                        "Content-Length": str(body.length),
                    },
                    timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
                )
                outcome.append(response)
            except Exception as exc:  # httpx's, or the upload's file closed under a cancelled request
                outcome.append(exc)
            finally:
                done.set()

        helper = threading.Thread(target=call, name="batchscribe-fast-request", daemon=True)
        unregister = cancel.on_cancel(done.set)
        helper.start()
        try:
            done.wait()
        finally:
            unregister()
        if cancel.is_cancelled():
            stop.set()  # the upload stops at its next block; an answer still to come is dropped
            raise FileCancelled(cancel.reason or "cancelled")
        helper.join()
        result = outcome[0]
        if isinstance(result, FileError):  # the recording could not be read while it was sent
            raise result
        if isinstance(result, BaseException):
            raise error_from_transport(result, timeout, self._redact)
        assert isinstance(result, httpx.Response)
        if result.status_code != 200:
            error = error_from_response(result.status_code, result.headers, result.content, self._redact)
            if result.status_code in (429, 503) and congestion is not None:
                congestion.throttled_by_service()
            if error.retry_after_s and cancel.wait(error.retry_after_s):
                raise FileCancelled(cancel.reason or "cancelled")
            raise error.exception
        try:
            return json.loads(result.content)
        except ValueError:
            raise invalid_answer("the answer is not JSON") from None


class _OneChannel:
    """The engine asked for one channel at a time (``SeparateChannels`` wraps it)."""

    def __init__(self, engine: FastEngine) -> None:
        self.name = engine.name
        self._engine = engine

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        return self._engine.transcribe(request, on_progress=on_progress, cancel=cancel)

    def close(self) -> None:
        return None
