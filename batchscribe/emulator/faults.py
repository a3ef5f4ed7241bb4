"""Fault specs: a small language that says what the emulator breaks, and for whom.

Grammar (parts separated by ``:``; options are ``key=value``, in any order)::

    spec    := kind [":" arg] (":" option)*
    http:CODE                reject the websocket upgrade with HTTP CODE (400-599)
    close:CODE               close the websocket with CODE (1000-4999); option reason=TEXT
    reset                    abort the TCP connection (RST)
    stall                    accept, then never answer again (keeps reading)
    status:NAME              send a speech.phrase with RecognitionStatus NAME
    options:
      after=DURATION         once this much audio arrived on the connection: 3s, 500ms, 2.5
                             (not for http; default 0: at the first audio message)
      first=N                only the first N connections the emulator sees
      sessions=K             only the first K sessions (X-ConnectionId), on every connection of
                             each, so the SDK's internal reconnects fail too
      reason=TEXT            close reason (no ':' inside); defaults per code

Without ``first``/``sessions`` a fault hits every connection. In a transcript entry, a fault
applies to that recording only, ``sessions=K`` counts that recording's sessions, and ``http``
and ``first`` are refused (an upgrade comes before any audio to recognize).

Examples: ``http:429:first=2``, ``http:401``, ``close:1011:after=3s``,
``close:1007:reason=Quota exceeded:after=2s``, ``reset:after=2s``, ``stall``,
``status:TooManyRequests:sessions=1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from batchscribe.errors import UsageError

FaultKind = Literal["http", "close", "reset", "stall", "status"]
KINDS: tuple[FaultKind, ...] = ("http", "close", "reset", "stall", "status")

# RecognitionStatus values the SDK reacts to (USP_PROTOCOL.md section 3).
ERROR_STATUSES = ("TooManyRequests", "BadRequest", "Forbidden", "Error", "ServiceUnavailable")
NOMATCH_STATUSES = ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout", "EndOfDictation")
STATUSES = ERROR_STATUSES + NOMATCH_STATUSES

DEFAULT_REASONS = {
    1000: "Normal closure",
    1001: "Going away",
    1007: "Quota exceeded",
    1008: "Policy violation",
    1011: "Internal server error",
    4429: "Too many requests",
}

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


class FaultSpecError(UsageError):
    """A fault spec that cannot be parsed; the message is one line naming the spec."""

    default_hint = "see `batchscribe emulator --help` for the fault spec grammar"


@dataclass(frozen=True)
class Fault:
    """One parsed fault spec. ``str(fault)`` gives back a canonical spec."""

    kind: FaultKind
    code: int = 0  # HTTP status or websocket close code
    status: str = ""  # RecognitionStatus for kind "status"
    reason: str = ""
    after: float = 0.0  # seconds of audio received on the connection
    first: int | None = None  # connections
    sessions: int | None = None

    def __str__(self) -> str:
        parts: list[str] = [self.kind]
        if self.kind in ("http", "close"):
            parts.append(str(self.code))
        if self.kind == "status":
            parts.append(self.status)
        if self.kind == "close" and self.reason != DEFAULT_REASONS.get(self.code, "Injected fault"):
            parts.append(f"reason={self.reason}")
        if self.after:
            parts.append(f"after={self.after:g}s")
        if self.first is not None:
            parts.append(f"first={self.first}")
        if self.sessions is not None:
            parts.append(f"sessions={self.sessions}")
        return ":".join(parts)

    def hits(self, connection_number: int, session_number: int) -> bool:
        """Whether this fault applies to the Nth connection, belonging to the Kth session."""
        if self.first is not None and connection_number > self.first:
            return False
        return self.sessions is None or session_number <= self.sessions


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r} (expected e.g. 3s, 500ms, 2.5)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def _count(name: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {text!r}")
    return int(text)


def _parse(spec: str) -> Fault:
    kind, *parts = [p.strip() for p in spec.strip().split(":")]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (expected {', '.join(KINDS)})")
    code, status = 0, ""
    if kind in ("http", "close", "status"):
        if not parts or "=" in parts[0]:
            raise ValueError(f"{kind} needs a {'status name' if kind == 'status' else 'code'}")
        arg = parts.pop(0)
        if kind == "status":
            if arg not in STATUSES:
                raise ValueError(f"unknown status {arg!r} (expected one of {', '.join(STATUSES)})")
            status = arg
        else:
            low, high = (400, 599) if kind == "http" else (1000, 4999)
            if not arg.isdigit() or not low <= int(arg) <= high:
                raise ValueError(f"{kind} code must be a number in {low}-{high}, not {arg!r}")
            code = int(arg)
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in ("after", "first", "sessions", "reason"):
            raise ValueError(f"unknown option {part!r} (expected after=, first=, sessions=, reason=)")
        if key in options:
            raise ValueError(f"option {key} given twice")
        options[key] = value
    if "reason" in options and kind != "close":
        raise ValueError("reason= applies to close only")
    if "after" in options and kind == "http":
        raise ValueError("http faults happen at the upgrade; after= does not apply")
    if "first" in options and "sessions" in options:
        raise ValueError("give first= (connections) or sessions=, not both")
    return Fault(
        kind=kind,
        code=code,
        status=status,
        reason=options.get("reason", DEFAULT_REASONS.get(code, "Injected fault")),
        after=parse_duration(options["after"]) if "after" in options else 0.0,
        first=_count("first", options["first"]) if "first" in options else None,
        sessions=_count("sessions", options["sessions"]) if "sessions" in options else None,
    )


def parse_fault(spec: str) -> Fault:
    """Parse one spec; a bad one raises FaultSpecError with a one-line message."""
    try:
        return _parse(spec)
    except ValueError as exc:
        raise FaultSpecError(f"bad fault spec {spec!r}: {exc}") from None


def parse_recording_fault(spec: str) -> Fault:
    """Parse a fault attached to one recording in a transcripts file."""
    fault = parse_fault(spec)
    if fault.kind == "http" or fault.first is not None:
        raise FaultSpecError(
            f"bad fault spec {spec!r}: a recording's fault cannot use http or first= "
            "(the recording is only known once its audio arrives); use sessions="
        )
    return fault


def as_faults(items: Iterable[Fault | str]) -> tuple[Fault, ...]:
    return tuple(item if isinstance(item, Fault) else parse_fault(item) for item in items)


def load_faults_file(path: Path) -> tuple[Fault, ...]:
    """One spec per line; blank lines and ``#`` comments are ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FaultSpecError(f"cannot read faults file {path}: {exc.strerror}") from None
    faults = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                faults.append(parse_fault(text))
            except FaultSpecError as exc:
                raise FaultSpecError(f"{path}:{number}: {exc.message}") from None
    return tuple(faults)
