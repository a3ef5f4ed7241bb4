"""Frozen run settings, and where the Speech service is.

``RunSettings`` is what a run needs, decided before it starts; ``batchscribe.config.resolve``
builds it from a validated spec (the command line, a job, or both), so nothing here validates
again, and its defaults are the spec's. ``Endpoint`` keeps the key out of its ``repr`` and
``describe()``; keys come only from environment variables or a key file (``resolve``). Several
Speech resources (``RunSettings.resources``) are one ``Endpoint`` each, with the ``Resource``
they were configured as (its name, session limit and sign-in); one signing in with Microsoft
Entra ID gets its ``TokenProvider`` when the run starts (``engines.service.endpoints_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from batchscribe.config.resource import Resource
from batchscribe.config.schema import JobSpec
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.fast_mapping import FastLimits
from batchscribe.errors import UsageError
from batchscribe.outputs.quality import DEFAULT_THRESHOLDS, QualityThresholds
from batchscribe.secrets import public_endpoint, url_secrets

if TYPE_CHECKING:
    from batchscribe.config.entra import TokenProvider
    from batchscribe.config.summaries import SummaryOptions

EndpointKind = Literal["region", "endpoint", "host", "emulator", "unresolved"]
"""``unresolved``: settings for ``plan``, which never needs credentials; nothing can run with it."""

_DEFAULT = JobSpec()


@dataclass(frozen=True)
class Endpoint:
    """Where recognition goes and with which key. The key never appears in repr or describe()."""

    kind: EndpointKind
    key: str = field(default="", repr=False)
    region: str = ""
    url: str = ""
    resource: Resource | None = None  # as configured, when given as one of several resources
    # Entra ID sign-in: set for the run's duration; never compared, printed or stored
    tokens: TokenProvider | None = field(default=None, repr=False, compare=False)
    rest_url: str = ""  # the in-process emulator's REST side (--emulate): OpenAI summaries go there

    @property
    def entra(self) -> bool:
        """Signs in with a Microsoft Entra ID token instead of a key."""
        return self.resource is not None and self.resource.entra

    @property
    def name(self) -> str:
        """The resource's name in summaries: its label, else ``describe()``."""
        return self.resource.name if self.resource is not None else self.describe()

    def describe(self) -> str:
        """A safe, human-readable name for reports: ``region:westeurope``, ``host:ws://...``."""
        if self.resource is not None:
            return self.resource.describe()
        if self.kind == "region":
            return f"region:{self.region}"
        if self.kind == "emulator":
            return "emulator"
        if self.kind == "unresolved":
            return "not resolved (planning needs no credentials)"
        return public_endpoint(f"{self.kind}:{self.url}")  # ws://user:KEY@... never in a report

    @property
    def resolved(self) -> bool:
        return self.kind != "unresolved"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The key, any key inside the URL, and any Entra token it holds now (for a ``Redactor``).
        The in-process emulator's key is a fixed dummy: masking it would mask the word itself."""
        key = (self.key,) if self.key and self.kind != "emulator" else ()
        tokens = self.tokens.secrets() if self.tokens is not None else ()
        return key + url_secrets(self.url) + tuple(tokens)


def read_phrase_list(path: Path) -> tuple[str, ...]:
    """A phrase list file: one phrase per line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(
            f"cannot read the phrase list {path}: {reason}",
            hint="point it at a readable UTF-8 text file, one phrase per line",
        ) from exc
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


ChannelMode = Literal["mix", "separate"]
SplitMode = Literal["auto", "off"]
EngineName = Literal["realtime", "fast", "batch"]


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs, decided before it starts."""

    inputs: tuple[Path, ...]
    out: Path
    endpoint: Endpoint
    options: RecognitionOptions = field(default_factory=RecognitionOptions)
    workers: int = _DEFAULT.workers
    retries: int = _DEFAULT.retries
    stall_timeout: float = _DEFAULT.stall_timeout
    formats: tuple[str, ...] = _DEFAULT.formats
    timestamps: bool = _DEFAULT.timestamps
    channels: ChannelMode = _DEFAULT.channels
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    settle_seconds: float = _DEFAULT.settle
    force: bool = False
    retry_failed_only: bool = False
    max_audio_hours: float | None = _DEFAULT.max_hours
    max_cost: float | None = _DEFAULT.max_cost
    price_per_hour: float = _DEFAULT.price_per_hour
    max_runtime_s: float | None = _DEFAULT.max_runtime
    max_runtime_grace_s: float = _DEFAULT.max_runtime_grace  # then files still in flight are cancelled
    sdk_send_rate: float | None = _DEFAULT.sdk_send_rate  # lift the SDK's 2x real-time send throttle
    emulator_transcripts: Path | None = None  # --emulate: the emulator's scripted transcripts
    emulator_speed: float | None = _DEFAULT.emulator_speed  # --emulate: times real time, or as audio arrives
    job_name: str = ""
    split: SplitMode = "auto"  # long recordings as chunks in parallel sessions (issue 13)
    # Which of Azure's transcription modes: not part of a transcript's identity (changing only the
    # engine redoes nothing).
    engine: EngineName = _DEFAULT.engine
    chunk_seconds: float | None = None  # None: from the run's audio and workers (audio.chunk_plan)
    # Several Speech resources (each one ``Endpoint`` with its ``Resource``); ``endpoint`` is the
    # first. Empty: the one ``endpoint``.
    resources: tuple[Endpoint, ...] = ()
    # The morning report: the cost's currency, and the quality triage's thresholds.
    currency: str = _DEFAULT.currency
    quality: QualityThresholds = DEFAULT_THRESHOLDS
    summaries: SummaryOptions | None = None  # --summarize: Azure OpenAI summaries (issue 21)
    # The fast engine: speakers at most with --diarize, and its limits per request and resource
    # (the service's by default; tests shrink them). Not part of a transcript's identity either.
    max_speakers: int = _DEFAULT.max_speakers
    fast_limits: FastLimits = field(default_factory=FastLimits)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every Speech resource the run may use (at least ``endpoint``)."""
        return self.resources or (self.endpoint,)

    @property
    def capacity(self) -> int:
        """Sessions at most at once over every resource (``workers`` for one)."""
        if len(self.resources) < 2:
            return self.workers
        return sum(e.resource.max_sessions if e.resource else self.workers for e in self.resources)

    @property
    def secrets(self) -> tuple[str, ...]:
        summaries = self.summaries.secrets if self.summaries is not None else ()
        return tuple(secret for endpoint in self.endpoints for secret in endpoint.secrets) + summaries

    def __post_init__(self) -> None:
        if "json" not in self.formats:
            # The per-file JSON is the record that a recording is done: always written, last.
            object.__setattr__(self, "formats", (*self.formats, "json"))

    def public_dict(self) -> dict[str, object]:
        """The settings for reports and summaries: no secrets, JSON-ready."""
        return {
            "inputs": [str(p) for p in self.inputs],
            "out": str(self.out),
            "endpoint": self.endpoint.describe(),
            **({"resources": [e.name for e in self.resources]} if len(self.resources) > 1 else {}),
            "recognition": self.options.as_dict(),
            "workers": self.workers,
            "retries": self.retries,
            "stall_timeout": self.stall_timeout,
            "formats": list(self.formats),
            "channels": self.channels,
            "engine": self.engine,
            "split": self.split,
            "chunk_seconds": self.chunk_seconds,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "settle_seconds": self.settle_seconds,
            "force": self.force,
            "max_audio_hours": self.max_audio_hours,
            "max_cost": self.max_cost,
            "price_per_hour": self.price_per_hour,
            "max_runtime_s": self.max_runtime_s,
            "max_runtime_grace_s": self.max_runtime_grace_s,
            "job": self.job_name,
            "currency": self.currency,
            "quality": self.quality.as_dict(),
            **({"summaries": self.summaries.public_dict()} if self.summaries is not None else {}),
            "max_speakers": self.max_speakers,
            "requests_per_minute": self.fast_limits.requests_per_minute,
        }
