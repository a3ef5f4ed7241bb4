"""Time formats the outputs use, all computed from 100-ns ticks with integer arithmetic.

- ``iso_duration``: Azure's ISO 8601 durations (``PT1M2.34S``): hours, minutes and seconds, zero
  parts left out, no trailing zeros, ``PT0S`` for nothing. Hours are not folded into days, so a
  25-hour recording is ``PT25H``, which ISO 8601 allows and Azure's consumers read.
- ``srt_time`` / ``vtt_time``: subtitle clocks, to the millisecond.
- ``clock``: ``HH:MM:SS`` for text prefixes and reports.
- ``utc_iso``: instants as UTC ISO 8601 with ``Z``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from batchscribe.engines.base import TICKS_PER_SECOND

TICKS_PER_MS = TICKS_PER_SECOND // 1000
_FRACTION_DIGITS = 7  # one tick is 10^-7 s

_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,7}))?S)?$")


def ticks_from_seconds(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def iso_duration(ticks: int) -> str:
    """``7600000`` -> ``PT0.76S``; ``623400000`` -> ``PT1M2.34S``; ``0`` -> ``PT0S``."""
    if ticks < 0:
        raise ValueError(f"a duration cannot be negative: {ticks} ticks")
    whole_seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    hours, rest = divmod(whole_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = ["PT"]
    if hours:
        parts.append(f"{hours}H")
    if minutes:
        parts.append(f"{minutes}M")
    if seconds or fraction or (not hours and not minutes):
        digits = f"{fraction:0{_FRACTION_DIGITS}d}".rstrip("0")
        parts.append(f"{seconds}.{digits}S" if digits else f"{seconds}S")
    return "".join(parts)


def parse_iso_duration(text: str) -> int:
    """The inverse of ``iso_duration``, in ticks. Raises ``ValueError`` for anything else."""
    match = _ISO_DURATION.match(text)
    if not match or text == "PT":
        raise ValueError(f"not an ISO 8601 duration of hours, minutes and seconds: {text!r}")
    hours, minutes, seconds, fraction = match.groups()
    total_seconds = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    fraction_ticks = int((fraction or "").ljust(_FRACTION_DIGITS, "0"))
    return total_seconds * TICKS_PER_SECOND + fraction_ticks


def milliseconds(ticks: int) -> int:
    """Ticks rounded to the nearest millisecond (half up), the resolution of subtitle clocks."""
    return (ticks + TICKS_PER_MS // 2) // TICKS_PER_MS


def _hms_ms(ms: int) -> tuple[int, int, int, int]:
    seconds, millis = divmod(ms, 1000)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return hours, mins, secs, millis


def srt_time(ms: int) -> str:
    hours, mins, secs, millis = _hms_ms(ms)
    return f"{hours:02d}:{mins:02d}:{secs:02d},{millis:03d}"


def vtt_time(ms: int) -> str:
    hours, mins, secs, millis = _hms_ms(ms)
    return f"{hours:02d}:{mins:02d}:{secs:02d}.{millis:03d}"


def clock(ticks: int) -> str:
    """``HH:MM:SS``, truncated to the second (a phrase at 0.9 s starts in second 0)."""
    hours, mins, secs, _ = _hms_ms(ticks // TICKS_PER_MS)
    return f"{hours:02d}:{mins:02d}:{secs:02d}"


def utc_iso(moment: datetime) -> str:
    """UTC ISO 8601 with ``Z``, to the second. A naive datetime is taken as local time."""
    return moment.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def human_seconds(seconds: float) -> str:
    """Short durations for people: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds <= 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
