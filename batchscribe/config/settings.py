"""Frozen run settings and where the Speech service is (credentials from the environment).

Keys come only from environment variables or a key file, never from a command-line value (it
would show in ``ps``). ``Endpoint`` keeps the key out of its ``repr`` and ``describe()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import UsageError
from batchscribe.secrets import public_endpoint, url_secrets

KEY_VARIABLES = ("SPEECH_KEY", "AZURE_AI_SPEECH_KEY")
REGION_VARIABLES = ("SPEECH_REGION", "AZURE_AI_SPEECH_REGION")
OUTPUT_FORMATS = ("json", "txt", "srt", "vtt")
DEFAULT_PRICE_PER_HOUR = 1.0  # USD, Azure standard real-time speech to text (pay as you go)

EndpointKind = Literal["region", "endpoint", "host", "emulator"]


@dataclass(frozen=True)
class Endpoint:
    """Where recognition goes and with which key. The key never appears in repr or describe()."""

    kind: EndpointKind
    key: str = field(default="", repr=False)
    region: str = ""
    url: str = ""

    def describe(self) -> str:
        """A safe, human-readable name for reports: ``region:westeurope``, ``host:ws://...``."""
        if self.kind == "region":
            return f"region:{self.region}"
        if self.kind == "emulator":
            return "emulator"
        return public_endpoint(f"{self.kind}:{self.url}")  # ws://user:KEY@... never in a report

    @property
    def secrets(self) -> tuple[str, ...]:
        return ((self.key,) if self.key else ()) + url_secrets(self.url)


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str]:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return "", ""


def read_key_file(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read the key file {path}: {exc.strerror}",
            hint="pass a readable file with --key-file, or set SPEECH_KEY",
        ) from exc
    if not key or "\n" in key:
        raise UsageError(
            f"the key file {path} must hold exactly one line: the Speech resource key",
            hint="write only the key into that file",
        )
    return key


def resolve_endpoint(
    *,
    env: Mapping[str, str] | None = None,
    key_file: Path | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    host_url: str | None = None,
    emulator_url: str | None = None,
    key_variable: str | None = None,
    region_variable: str | None = None,
) -> Endpoint:
    """Decide where to send audio from options and environment; explain what is missing."""
    env = os.environ if env is None else env
    if emulator_url is not None:
        return Endpoint(kind="emulator", key="emulator", url=emulator_url)

    key_names = (key_variable,) if key_variable else KEY_VARIABLES
    region_names = (region_variable,) if region_variable else REGION_VARIABLES
    key = read_key_file(key_file) if key_file else _first_set(env, key_names)[1]
    region = region or _first_set(env, region_names)[1]

    if endpoint_url and host_url:
        raise UsageError(
            "--endpoint and --host both given",
            hint="use --endpoint for a custom domain or "
            "private endpoint, --host for a Speech container, not both",
        )
    for option, url in (("--endpoint", endpoint_url), ("--host", host_url)):
        if url and not url.lower().startswith(("ws://", "wss://", "http://", "https://")):
            raise UsageError(
                f"{option} {url!r} is not a URL", hint=f"give {option} as wss://host or https://host"
            )
    if host_url:
        return Endpoint(kind="host", key=key, url=host_url.rstrip("/"))
    if not key:
        names = " or ".join(key_names)
        raise UsageError(
            "no Speech key found",
            hint=f"set {names} (or pass --key-file FILE); for a key-less Speech container use "
            "--host, or try --emulate",
        )
    if endpoint_url:
        return Endpoint(kind="endpoint", key=key, url=endpoint_url)
    if not region:
        names = " or ".join(region_names)
        raise UsageError(
            "no Speech region found", hint=f"set {names} (e.g. westeurope), or pass --region or --endpoint"
        )
    return Endpoint(kind="region", key=key, region=region)


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


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs, decided before it starts."""

    inputs: tuple[Path, ...]
    out: Path
    endpoint: Endpoint
    options: RecognitionOptions = field(default_factory=RecognitionOptions)
    workers: int = 8
    retries: int = 3
    stall_timeout: float = 60.0
    formats: tuple[str, ...] = ("json", "txt")
    timestamps: bool = False
    channels: ChannelMode = "mix"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    settle_seconds: float = 0.0
    force: bool = False
    retry_failed_only: bool = False
    max_audio_hours: float | None = None
    max_cost: float | None = None
    price_per_hour: float = DEFAULT_PRICE_PER_HOUR
    max_runtime_s: float | None = None
    max_runtime_grace_s: float = 600.0  # in-flight files past max_runtime are cancelled after this
    sdk_send_rate: float | None = None  # lift the SDK's 2x real-time send throttle (advanced)
    emulator_transcripts: Path | None = None  # --emulate: the emulator's scripted transcripts
    emulator_speed: float | None = None  # --emulate: times real time; None answers as audio arrives
    job_name: str = ""

    def __post_init__(self) -> None:
        if "json" not in self.formats:
            # The per-file JSON is the record that a recording is done: always written, last.
            object.__setattr__(self, "formats", (*self.formats, "json"))
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, not {self.workers}", hint="e.g. --workers 8")
        if self.retries < 0:
            raise UsageError(f"--retries must be 0 or more, not {self.retries}", hint="e.g. --retries 3")
        if self.max_cost is not None and self.price_per_hour <= 0:
            raise UsageError("--max-cost needs a positive --price-per-hour", hint="e.g. --price-per-hour 1.0")
        for name, value in (("--max-hours", self.max_audio_hours), ("--max-cost", self.max_cost),
                            ("--max-runtime", self.max_runtime_s)):  # fmt: skip
            if value is not None and value <= 0:
                raise UsageError(f"{name} must be positive, not {value:g}", hint=f"e.g. {name} 10")
        if self.stall_timeout <= 0:
            raise UsageError("--stall-timeout must be positive", hint="e.g. --stall-timeout 60")
        unknown = [f for f in self.formats if f not in OUTPUT_FORMATS]
        if unknown or not self.formats:
            raise UsageError(
                f"unknown output format {', '.join(unknown) or '(none)'}",
                hint=f"--formats takes a comma-separated subset of {','.join(OUTPUT_FORMATS)}",
            )

    def public_dict(self) -> dict[str, object]:
        """The settings for reports and summaries: no secrets, JSON-ready."""
        return {
            "inputs": [str(p) for p in self.inputs],
            "out": str(self.out),
            "endpoint": self.endpoint.describe(),
            "recognition": self.options.as_dict(),
            "workers": self.workers,
            "retries": self.retries,
            "stall_timeout": self.stall_timeout,
            "formats": list(self.formats),
            "channels": self.channels,
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
        }
