"""``--engine fast`` in a run: the engine built from the run's settings, and what the plan says.

- ``fast_engine``: a ``FastEngine`` for one Speech resource, converting into
  ``OUT/_state/fast-spool``; ``remove_stale_spools``: a killed run's leftovers there, removed by
  the next run once it holds the output folder's lock.
- ``plan_notes``: what the fast API cannot do with these settings, and that changing only the
  engine redoes nothing, said once in ``plan``.
- ``part_seconds``: the longest part one request may carry (recordings beyond it are cut at pauses
  into parts and stitched, ``running.chunks``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion
from batchscribe.engines.fast_mapping import limitations, refusal
from batchscribe.outputs.layout import OutFolder

if TYPE_CHECKING:
    from batchscribe.engines.fast import FastEngine

SPOOL_FOLDER = "fast-spool"
SAME_TRANSCRIPTS_NOTE = (
    "the engine is not part of a transcript's identity: recordings already done with another engine "
    "are not redone (--force redoes them)"
)


def spool_dir(out: Path) -> Path:
    return OutFolder(out).state_dir / SPOOL_FOLDER


def remove_stale_spools(out: Path) -> None:
    """A killed run's conversions (only files this engine names ``fast-*.tmp``)."""
    folder = spool_dir(out)
    for stale in folder.glob("fast-*.tmp") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            stale.unlink()


def fast_engine(settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> FastEngine:
    from batchscribe.engines.fast import FastEngine  # httpx: only for runs that use it

    return FastEngine(
        endpoint,
        settings.options,
        spool_dir=spool_dir(settings.out),
        limits=settings.fast_limits,
        congestion=congestion,
        channels_separate=settings.channels == "separate",
        max_speakers=settings.max_speakers,
    )


def check_settings(settings: RunSettings) -> None:
    """Exit 2 (``UsageError``) for a setting the fast API cannot honour at all."""
    if settings.engine == "fast" and (refused := refusal(settings.options)) is not None:
        raise refused


def plan_notes(settings: RunSettings) -> tuple[str, ...]:
    """What ``plan`` says about the engine ("" for the real-time engine)."""
    if settings.engine != "fast":
        return ()
    return (*limitations(settings.options), SAME_TRANSCRIPTS_NOTE)


def part_seconds(settings: RunSettings) -> float | None:
    """The longest audio one request may carry (None: the real-time engine, which has no limit)."""
    return settings.fast_limits.part_seconds if settings.engine == "fast" else None
