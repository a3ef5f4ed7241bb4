"""The Engine protocol and the transcript data model every engine returns.

An engine turns one recording (or one channel of it) into a ``Transcript``. It reports progress
in audio seconds through ``on_progress`` and stops promptly when ``cancel`` is cancelled. Failures are
raised as ``TransientEngineError`` / ``PermanentEngineError`` / ``FatalEngineError`` (see
``batchscribe.errors``) or ``AudioError`` when the recording itself is unreadable.

Times are kept as 100-ns ticks, the unit of the Speech service and of Azure's batch output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from batchscribe.cancel import CancelToken
from batchscribe.errors import UsageError

if TYPE_CHECKING:  # annotations only: the CLI starts without PyAV
    from batchscribe.audio import AudioInfo, PcmRange, ReadReceipt

TICKS_PER_SECOND = 10_000_000
# The emulator marks made-up text (a recording it has no script for) with this key in a phrase's
# JSON; the live service never sends it.
EMULATOR_PLACEHOLDER_FIELD = "BatchscribeEmulatorPlaceholder"

ProgressCallback = Callable[[float], None]
"""Called with the number of audio seconds the engine has finished with so far."""


@dataclass(frozen=True)
class Word:
    word: str
    offset_ticks: int
    duration_ticks: int
    confidence: float | None = None


@dataclass(frozen=True)
class Phrase:
    """One recognized phrase, as Azure's ``recognizedPhrases`` entries describe it."""

    offset_ticks: int
    duration_ticks: int
    display: str
    lexical: str = ""
    itn: str = ""
    masked_itn: str = ""
    confidence: float | None = None
    words: tuple[Word, ...] = ()
    channel: int = 0
    speaker: int | None = None
    locale: str | None = None
    status: str = "Success"
    placeholder: bool = False  # made-up text from the emulator for a recording it has no script for

    @property
    def end_ticks(self) -> int:
        return self.offset_ticks + self.duration_ticks


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk of a recording split into sessions: where it lies (seconds) and its attempts."""

    start_s: float
    end_s: float
    attempts: int
    channel: int | None = None  # with --channels separate: the channel it is of


@dataclass(frozen=True)
class Transcript:
    """Everything an engine learned about one recording."""

    phrases: tuple[Phrase, ...] = ()
    warnings: tuple[str, ...] = ()
    # What was read: the bytes' SHA-256 and whether the file changed meanwhile (None: the
    # engine read nothing itself, like the fake one).
    receipt: ReadReceipt | None = field(default=None, compare=False)
    chunks: tuple[ChunkRecord, ...] = ()  # the sessions a split recording ran as (none: one)

    @property
    def text(self) -> str:
        return " ".join(p.display for p in self.phrases if p.display)


@dataclass(frozen=True)
class RecognitionOptions:
    """Settings that change what the service returns; they are part of a transcript's identity."""

    language: str = "en-US"
    languages: tuple[str, ...] = ()  # continuous language identification instead of `language`
    detailed: bool = True
    word_timestamps: bool = False
    profanity: str = "masked"  # masked | removed | raw
    phrases: tuple[str, ...] = ()  # phrase list for names and jargon
    endpoint_id: str = ""  # custom speech model
    diarize: bool = False

    def __post_init__(self) -> None:
        if self.endpoint_id and self.languages:
            # The service refuses it for every session: a custom model serves one language.
            raise UsageError(
                "--endpoint-id cannot be combined with --languages",
                hint="a custom speech model serves one language: use --language with it",
            )

    def as_dict(self) -> dict[str, object]:
        return {
            "language": self.language,
            "languages": list(self.languages),
            "format": "detailed" if self.detailed else "simple",
            "word_timestamps": self.word_timestamps,
            "profanity": self.profanity,
            "phrases": len(self.phrases),
            "endpoint_id": self.endpoint_id,
            "diarize": self.diarize,
        }


@dataclass(frozen=True)
class RecognitionRequest:
    """One recognition session: a recording, or one channel of it."""

    path: Path
    audio: AudioInfo
    channel: int | None = None  # None: mix all channels down to mono
    label: str = field(default="", compare=False)  # for logs: the path relative to its root
    pcm: PcmRange | None = None  # one chunk of it: read this PCM instead of decoding ``path``
    # Where this session reports the service's load (a rotation's lease); None: the engine's own
    congestion: Congestion | None = field(default=None, compare=False, repr=False)


class Congestion(Protocol):
    """What an engine tells the runner about the service's load, as it happens (the runner's
    ``AdaptiveLimiter`` implements it)."""

    def connected(self, seconds: float) -> None:
        """A session's first connection is up, ``seconds`` after the session started. A slow
        one may be the SDK retrying a refused upgrade or just a busy machine: the limiter decides."""

    def closed(self) -> None:
        """A session whose connection was reported (``connected``) is over: the service holds
        one session fewer for this run (the limiter counts the sessions it holds open)."""

    def throttled_by_service(self) -> None:
        """The service refused or deferred a session (429, 503, a throttling close)."""

    @property
    def throttling(self) -> bool:
        """The service has pushed back in this run: free each connection before the next session."""
        ...


class SignIn(Protocol):
    """A Microsoft Entra ID sign-in kept fresh for one resource (``config/entra.py``'s
    ``TokenProvider``): what an engine needs of it."""

    def token(self) -> str: ...  # a bare access token (for REST calls: ``Authorization: Bearer``)
    def authorization_token(self) -> str: ...
    def subscribe(self, apply: Callable[[str], None]) -> Callable[[], None]: ...  # returns: stop
    def secrets(self) -> tuple[str, ...]: ...  # the tokens a text might echo now


class SpeechEndpoint(Protocol):
    """Where an engine's sessions go and how they sign in (``config/settings.py``'s ``Endpoint``)."""

    @property
    def kind(self) -> str: ...  # region, endpoint, host or emulator
    @property
    def key(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def entra(self) -> bool: ...  # signs in with Microsoft Entra ID
    @property
    def tokens(self) -> SignIn | None: ...
    @property
    def secrets(self) -> tuple[str, ...]: ...  # what a ``Redactor`` masks


class Engine(Protocol):
    """Turns a recording into a Transcript. Implementations must be thread-safe."""

    name: str

    def transcribe(
        self,
        request: RecognitionRequest,
        *,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> Transcript: ...

    def close(self) -> None: ...
