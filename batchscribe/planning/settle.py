"""When a recording is settled (no longer being written), so a run may take it: ``--settle``.

A file is settled once not modified for the settle time. A modification time in the future (a
copy that kept a wrong clock's time, ``touch -d``) says nothing about that; then the inode's
change time decides, and when that is in the future too (the file system's clock is ahead of this
machine's), the time since the file was first seen unchanged, remembered across runs in the
ledger's sightings. The planner decides with ``settle``; the run stores what it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from batchscribe.config.settings import RunSettings
from batchscribe.names import shown
from batchscribe.planning.discovery import AudioFile
from batchscribe.state.ledger import Sighting

log = logging.getLogger(__name__)


def settled_before_ns(settings: RunSettings, now: datetime) -> float:
    """Files modified after this (ns since the epoch) are still being written: not settled."""
    return (now - timedelta(seconds=settings.settle_seconds)).timestamp() * 1e9


@dataclass(frozen=True)
class Settling:
    """Whether a file is settled, and a first sighting of it for the ledger to remember."""

    settled: bool
    sighting: Sighting | None = None  # times in the future, seen unchanged for the first time now


Sightings = Callable[[str], Sighting | None]
"""The remembered first sighting of a source (``Ledger.sighting``)."""


def settle(file: AudioFile, settled_before: float, now: datetime, sightings: Sightings) -> Settling:
    """Not modified since ``settled_before``. A modification time in the future (a copy that kept
    a wrong clock's time, ``touch -d``) says nothing about that: then the inode's change time,
    which every write moves and no copy sets, must be that old. When that is in the future too
    (the file system's clock is ahead), the file is settled once it has been seen unchanged for
    the settle time: the first sighting is remembered across runs. The file is named meanwhile."""
    if file.mtime_ns <= settled_before:
        return Settling(True)
    now_ns = int(now.timestamp() * 1e9)
    if file.mtime_ns <= now_ns:
        return Settling(False)
    when = datetime.fromtimestamp(file.mtime_ns / 1e9, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if 0 < file.ctime_ns <= settled_before:
        return Settling(True)
    settle_s = (now_ns - settled_before) / 1e9
    if file.ctime_ns <= now_ns:
        log.warning(
            "%s: its modification time is in the future (%s); it is taken once it has not "
            "changed for %g s (settle)",
            shown(file.source),
            when,
            settle_s,
        )
        return Settling(False)
    seen, new = sightings(file.source), None
    if seen is None or not seen.same_file(file.size, file.mtime_ns, file.ctime_ns):
        seen = new = Sighting(file.size, file.mtime_ns, file.ctime_ns, first_seen_ns=now_ns)
    if seen.first_seen_ns <= settled_before:
        return Settling(True, new)
    log.warning("%s: its modification and change times are in the future (%s): the file system's clock "
                "is ahead of this machine's; it is taken once seen unchanged for %g s (settle)",
                shown(file.source), when, settle_s)  # fmt: skip
    return Settling(False, new)


def never_seen(_source: str) -> Sighting | None:
    """No sightings remembered (a plan computed without a ledger)."""
    return None
