"""The Azure Speech engine: the only module that imports the Speech SDK.

One continuous-recognition session per request. Completion is event-driven: SDK callbacks
(wrapped so an exception in one is recorded and wakes the waiter instead of vanishing in the
SDK's wrapper) set a ``threading.Event``; the waiting thread sleeps until that event, a
cancellation, or the stall deadline. The deadline moves with every sign of life from the service,
so a silent service costs ``stall_timeout`` seconds instead of the SDK's 250.

Two things keep a session's CPU near the SDK's own (issue 14): the SDK pulls audio 0.5 s at a
time, and finals are read straight from the SDK's C API where the fence in ``sdk_native`` allows
(``FINALS_PATH`` says which way and why).

Stopping a recognizer can take the SDK ~10 s (and its futures' ``get()`` has no timeout), so the
stop-and-release work is handed to a daemon reaper thread: a worker slot is never held for it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import azure.cognitiveservices.speech as speechsdk
from azure.cognitiveservices.speech import interop

from batchscribe import audio
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import (
    Congestion,
    ProgressCallback,
    RecognitionOptions,
    RecognitionRequest,
    SpeechEndpoint,
    Transcript,
)
from batchscribe.engines.reaper import Reaper, close_quietly
from batchscribe.engines.sdk_errors import stalled_error
from batchscribe.engines.sdk_native import (
    PRIVATE_RECOGNIZER_HANDLE,
    LostFinals,
    NativeFinals,
    finals_path,
    whole_text,
)
from batchscribe.engines.session import Final, Session
from batchscribe.errors import AudioError, FileCancelled, PermanentEngineError
from batchscribe.secrets import Redactor

log = logging.getLogger(__name__)

_PROFANITY = {
    "masked": speechsdk.ProfanityOption.Masked,
    "removed": speechsdk.ProfanityOption.Removed,
    "raw": speechsdk.ProfanityOption.Raw,
}
# -- CPU per session (issue 14 point 5) ----------------------------------------------------------
# The SDK pulls 3,200 bytes (100 ms) from the stream per read and asks it for two properties after
# each read: 30 calls into Python per audio second per session, each taking the GIL against every
# other session. 0.5 s per read ("SPEECH-BytesPerFrame") makes that 6. Larger is cheaper still but
# each read is one websocket message (the service refuses messages over 64 KiB), and both the end
# of a session and a cancelled session's end come about one read period later (measured: +0.25 s
# per session at the SDK's 2x send rate; a cancel ends in 0.3-0.5 s, 0.5-1 s at 1x).
PULL_BYTES_PER_READ = audio.SAMPLE_RATE  # 16,000 bytes: 0.5 s of 16 kHz s16le mono


def build_speech_config(
    endpoint: SpeechEndpoint, options: RecognitionOptions, *, send_rate: float | None = None
) -> speechsdk.SpeechConfig:
    """A SpeechConfig for the endpoint and the transcript-affecting options."""
    if endpoint.tokens is not None:
        config = _entra_config(endpoint, endpoint.tokens.authorization_token())
    elif endpoint.kind == "region":
        config = speechsdk.SpeechConfig(subscription=endpoint.key, region=endpoint.region)
    elif endpoint.kind == "endpoint":
        config = speechsdk.SpeechConfig(subscription=endpoint.key, endpoint=endpoint.url)
    elif endpoint.key:
        config = speechsdk.SpeechConfig(host=endpoint.url, subscription=endpoint.key)
    else:
        config = speechsdk.SpeechConfig(host=endpoint.url)
    if not options.languages:
        config.speech_recognition_language = options.language
    else:
        config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
    if options.detailed:
        config.output_format = speechsdk.OutputFormat.Detailed
    if options.word_timestamps:
        config.request_word_level_timestamps()
    config.set_profanity(_PROFANITY[options.profanity])
    if options.endpoint_id:
        config.endpoint_id = options.endpoint_id
    if send_rate is not None:
        # The SDK sends file audio at 2x real time after the first 5 s (SDK_FACTS.md).
        percent = str(max(100, int(send_rate * 100)))
        config.set_property_by_name("SPEECH-AudioThrottleAsPercentageOfRealTime", percent)
        for name in ("SPEECH-TransmitLengthBeforThrottleMs", "SPEECH-TransmitLengthBeforeThrottleMs"):
            config.set_property_by_name(name, "0")
    return config


def _entra_config(endpoint: SpeechEndpoint, token: str) -> speechsdk.SpeechConfig:
    """Signed in with an Entra ID token: ``aad#ID#TOKEN`` with a region; for an endpoint or a
    host the SDK takes no token in its constructor, so it is set after (sent as Bearer)."""
    if endpoint.kind == "region":
        return speechsdk.SpeechConfig(auth_token=token, region=endpoint.region)
    if endpoint.kind == "endpoint":
        config = speechsdk.SpeechConfig(endpoint=endpoint.url)
    else:
        config = speechsdk.SpeechConfig(host=endpoint.url)
    config.authorization_token = token
    return config


class _PcmCallback(speechsdk.audio.PullAudioInputStreamCallback):  # type: ignore[misc]
    """Feeds PCM to the SDK as fast as it asks for it (back pressure), never faster: straight
    from the file into the SDK's buffer for a WAV that needs no decoding."""

    def __init__(
        self, reader: audio.PcmReader | audio.RawWavReader | audio.RangeReader, cancel: CancelToken
    ) -> None:
        super().__init__()
        self.reader = reader
        self._cancel = cancel
        self.error: AudioError | None = None
        self._finished = False

    def read(self, buffer: memoryview) -> int:
        if self._finished or self._cancel.is_cancelled() or self.error is not None:
            return 0
        try:
            return self.reader.readinto(buffer)
        except AudioError as exc:
            self.error = exc
        except ValueError:
            pass  # closed under it: the session is over
        except Exception as exc:  # never let a decoder bug escape into the SDK's thread
            self.error = AudioError(f"decoding failed: {exc}", code="decode_failed")
        return 0

    def close(self) -> None:
        self._finished = True  # the file itself is released by finish(), after its receipt

    def finish(self, *, receipt: bool) -> audio.ReadReceipt | None:
        """The session is over: release the file and the decoder now, not whenever the cyclic GC
        frees the SDK's reference to this callback (a long run would hold many files open).
        With ``receipt``: what was read (its SHA-256, and whether the file changed meanwhile)."""
        self._finished = True
        if receipt:
            return self.reader.finish()
        self.reader.close()
        return None


def _on_canceled(session: Session, evt: Any) -> None:
    details = evt.cancellation_details
    if details.reason == speechsdk.CancellationReason.Error:
        session.on_error(getattr(details.code, "name", str(details.code)), details.error_details or "")


# -- Finals: read natively when the fence allows (engines/sdk_native.py), else the public signals --
_RECOGNIZED = (speechsdk.ResultReason.RecognizedSpeech.value, speechsdk.ResultReason.TranslatedSpeech.value)
FINALS_PATH = finals_path(interop, speechsdk.__version__)
NATIVE_FINALS = FINALS_PATH.native
# Module-level, so its C callback lives as long as the SDK may call it.
_NATIVE = (
    NativeFinals(interop, _RECOGNIZED, speechsdk.PropertyId.SpeechServiceResponse_JsonResult.value)
    if NATIVE_FINALS
    else None
)
_LOST_FINALS = LostFinals()
log.info("%s", FINALS_PATH.describe())  # once per process, when the first engine is built (--verbose)


def _public_final(result: Any, speaker: bool) -> Final | None:
    """The same as ``NativeFinals.read``, through the wrapper's result object (the public way)."""
    if result.reason.value not in _RECOGNIZED:
        return None
    speaker_id = getattr(result, "speaker_id", None) if speaker else None
    raw = result.json or ""
    text = whole_text(str(result.text or ""), raw)
    return Final(int(result.offset), int(result.duration), text, raw, speaker_id)


class Finals:
    """One recognizer's finals, handed to ``session.on_final`` until ``close``: natively when
    ``NATIVE_FINALS`` (keep this alive until the recognizer is released: the SDK holds a pointer
    to its handler), else through the wrapper's signal, watching for finals the wrapper loses."""

    def __init__(self, recognizer: Any, session: Session, *, speaker: bool) -> None:
        self._signal: Any = None
        if _NATIVE is None or not NATIVE_FINALS or not hasattr(recognizer, PRIVATE_RECOGNIZER_HANDLE):
            self._signal = recognizer.transcribed if speaker else recognizer.recognized
            handler = session.guard(lambda evt: session.on_final(_public_final(evt.result, speaker)))
            self._signal.connect(handler)
            self._unwatch = _LOST_FINALS.watch(recognizer, session.on_lost_final)
            return
        self._recognizer_handle = recognizer._handle
        self._handler = session.guard(lambda event: session.on_final(_NATIVE.read(event, speaker)))
        self._context = _NATIVE.subscribe(self._recognizer_handle, self._handler)

    def close(self) -> None:
        """No more finals (the session is over, or being stopped and nothing it says is used)."""
        if self._signal is not None:
            self._signal.disconnect_all()
            self._unwatch()
            return
        assert _NATIVE is not None
        with contextlib.suppress(RuntimeError):  # the SDK refused: the reaper releases it anyway
            _NATIVE.subscribe(self._recognizer_handle, None)


# -- end of finals ----------------------------------------------------------------------------------


class AzureEngine:
    """Transcribes with the real Speech SDK against Azure, a container, or the emulator."""

    def __init__(
        self,
        endpoint: SpeechEndpoint,
        options: RecognitionOptions,
        *,
        stall_timeout: float = 60.0,
        send_rate: float | None = None,
        congestion: Congestion | None = None,
    ) -> None:
        """``congestion`` (the adaptive limiter) hears how long each session took to connect, as
        soon as it is up (the SDK retries a refused upgrade by itself and says nothing, so a slow
        connection is its only trace); while it is ``throttling`` each connection is closed before
        returning (so the service sees the slot free before the next session starts) instead of
        being left to the reaper."""
        self.name = "emulator" if endpoint.kind == "emulator" else "azure"
        self._endpoint = endpoint
        self._options = options
        self._stall_timeout = stall_timeout
        self._send_rate = send_rate
        self._congestion = congestion
        tokens = endpoint.tokens
        self._redact = Redactor(endpoint.secrets, live=tokens.secrets if tokens is not None else None)
        self._reaper = Reaper()

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        congestion = request.congestion or self._congestion
        report_connect = congestion.connected if congestion is not None else None
        report_close = congestion.closed if congestion is not None else None
        session = Session(request, self._options, self._redact, on_progress, report_connect, report_close)
        try:
            self._recognize(session, cancel, congestion)
        finally:
            session.close()
        # The recognizer is gone from every frame by now: a traceback raised here cannot keep it
        # alive (its release would then run wherever the garbage collector runs, for seconds).
        if session.callback_error is not None:
            raise PermanentEngineError(
                f"internal error while handling a recognition event: {session.callback_error!r}",
                code="internal_error",
                hint="run again with --verbose and report it",
            ) from session.callback_error
        if session.audio_error is not None:
            raise session.audio_error
        if cancel.is_cancelled():
            raise FileCancelled(cancel.reason)
        if session.stalled:
            raise stalled_error(self._stall_timeout, connected=session.connect_seconds is not None)
        if session.error is not None:
            raise session.error
        return Transcript(
            phrases=tuple(session.phrases), warnings=session.reader_warnings, receipt=session.receipt
        )

    def _recognize(self, session: Session, cancel: CancelToken, congestion: Congestion | None) -> None:
        """Run one session to its end (or stall, or cancel); hand the recognizer to the reaper."""
        audio_config, pcm = self._audio_config(session.request, cancel)
        recognizer = self._recognizer(audio_config)
        signed_out = self._keep_signed_in(recognizer)
        connection = speechsdk.Connection.from_recognizer(recognizer)
        connection.connected.connect(session.guard(session.on_connected))
        partials, finals = self._connect(recognizer, session)
        session.started_at = time.monotonic()
        transcriber = isinstance(recognizer, speechsdk.transcription.ConversationTranscriber)
        unregister = cancel.on_cancel(session.done.set)
        try:
            if transcriber:
                recognizer.start_transcribing_async()
            else:
                recognizer.start_continuous_recognition_async()
            listen = partials.connect  # the SDK's partial results: only once a session goes quiet
            session.stalled = not session.wait_for_end(cancel, self._stall_timeout, listen)
        finally:
            unregister()
            signed_out()
            finals.close()  # before the reaper stops it: what a session says after this is unused
            stop = None
            if session.stopped:
                # The SDK keeps the websocket open until the recognizer is released, and the
                # service counts it against the concurrency quota (1 on the free tier) until then.
                # Closing takes the SDK ~50 ms, so it waits for that only once the service has
                # pushed back; otherwise the reaper closes it.
                if congestion is not None and congestion.throttling:
                    close_quietly(connection)
            else:
                stop = (
                    recognizer.stop_transcribing_async
                    if transcriber
                    else recognizer.stop_continuous_recognition_async
                )
            # A stalled session takes the SDK ~10 s to stop and release (measured): it is left
            # to finish on its own, so closing the engine at the end of a run never waits for it.
            self._reaper.release(stop, recognizer, connection, pcm, audio_config, finals,
                                 detached=session.stalled)  # fmt: skip
            del recognizer, connection, stop, audio_config, partials, signed_out, finals
        session.audio_error = pcm.error
        session.reader_warnings = tuple(getattr(pcm.reader, "warnings", ()) or ())
        complete = session.stopped and not session.stalled and session.error is None
        session.receipt = pcm.finish(receipt=complete and not cancel.is_cancelled())

    def _keep_signed_in(self, recognizer: Any) -> Callable[[], None]:
        """With Entra ID: every refreshed token goes to this recognizer while it runs (its
        reconnections use it); returns the unsubscribe."""
        tokens = self._endpoint.tokens
        if tokens is None:
            return lambda: None

        def apply(token: str) -> None:
            recognizer.authorization_token = token

        return tokens.subscribe(apply)

    def _audio_config(
        self, request: RecognitionRequest, cancel: CancelToken
    ) -> tuple[speechsdk.audio.AudioConfig, _PcmCallback]:
        # Always a pull stream, even for WAV the SDK could read itself: cancelling then just ends
        # the stream and the session closes cleanly, where the SDK's own file reader can only be
        # stopped (~10 s, and a crash risk if the process exits meanwhile). A WAV that needs no
        # decoding is read from the file straight into the SDK's buffer, hashed on the way.
        reader = (
            audio.RangeReader(request.pcm)
            if request.pcm is not None
            else audio.open_pcm(request.path, channel=request.channel)
        )
        callback = _PcmCallback(reader, cancel)
        stream_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=audio.SAMPLE_RATE, bits_per_sample=16, channels=1
        )
        stream = speechsdk.audio.PullAudioInputStream(callback, stream_format)
        return speechsdk.audio.AudioConfig(stream=stream), callback

    def _recognizer(self, audio_config: speechsdk.audio.AudioConfig) -> Any:
        config = build_speech_config(self._endpoint, self._options, send_rate=self._send_rate)
        config.set_property_by_name("SPEECH-BytesPerFrame", str(PULL_BYTES_PER_READ))  # issue 14: CPU
        auto = (
            speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=list(self._options.languages))
            if self._options.languages
            else None
        )
        if self._options.diarize:
            # Identification works in conversation transcription too; without the config the
            # transcriber would recognize everything as its default language.
            return speechsdk.transcription.ConversationTranscriber(
                speech_config=config, audio_config=audio_config, auto_detect_source_language_config=auto
            )
        if auto is not None:
            return speechsdk.SpeechRecognizer(
                speech_config=config,
                auto_detect_source_language_config=auto,
                audio_config=audio_config,
            )
        return speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio_config)

    def _connect(self, recognizer: Any, session: Session) -> tuple[Any, Finals]:
        """Subscribe to what is used (finals, cancellation, the end); return the partial-result
        signal, left unsubscribed (``Session.wait_for_end`` subscribes to it when a session goes
        quiet), and the finals' subscription."""
        transcriber = isinstance(recognizer, speechsdk.transcription.ConversationTranscriber)
        finals = Finals(recognizer, session, speaker=transcriber)
        recognizer.canceled.connect(session.guard(lambda evt: _on_canceled(session, evt)))
        recognizer.session_stopped.connect(session.guard(session.on_stopped))
        if self._options.phrases:
            grammar = speechsdk.PhraseListGrammar.from_recognizer(recognizer)
            for phrase in self._options.phrases:
                grammar.addPhrase(phrase)
        return (recognizer.transcribing if transcriber else recognizer.recognizing), finals

    def close(self, timeout: float = 15.0) -> None:
        """Release every recognizer, waiting at most ``timeout`` seconds. If some are still
        being stopped after that, the process must leave with ``os._exit``: see
        ``reaper.native_work_pending``."""
        self._reaper.close(timeout)
