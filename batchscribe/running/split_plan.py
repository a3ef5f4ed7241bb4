"""How long recordings would be split, decided before any audio is read.

``SplitOptions`` are the run's choices (``--split``, ``--chunk-seconds``, ``--channels``,
``--diarize``, an engine's limit per request), made from its settings by ``split_options`` for
``plan`` and ``run`` alike; ``chunk_plan`` sizes one recording's chunks for the run's capacity
(``audio.chunk_plan``). The same plan answers ``batchscribe plan`` (``split_summary``), the note
a recording run as one session gets (``one_session_note``), and the run's own splitter
(``running.chunks.split_items``), so plan and run agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchscribe.audio.chunk_plan import ChunkPlan, plan_chunks, plan_within
from batchscribe.config.settings import RunSettings
from batchscribe.planning.planner import WorkItem, transcript_settings
from batchscribe.resources.fast_setup import part_seconds
from batchscribe.state.chunk_store import ChunkStore
from batchscribe.state.ledger import settings_hash

ONE_SESSION_REASON = (
    "long recordings are not split into chunks with --diarize: speaker labels would not match across sessions"
)
ONE_SESSION_NOTE = f"ran as one session: {ONE_SESSION_REASON}"
PARTS_NOTE = "cut into parts within the engine's limit per request: speaker labels may not match across parts"


@dataclass(frozen=True)
class SplitOptions:
    """How long recordings are split, and where their chunks are kept."""

    store: ChunkStore
    settings_hash: str  # of the transcript settings: saved chunks of other settings are discarded
    split: bool = True  # --split auto (False: off)
    chunk_seconds: float | None = None  # --chunk-seconds
    channels: str = "mix"
    diarize: bool = False
    part_seconds: float | None = None  # an engine's limit per request (fast: 2 h): cut beyond it, always


def split_options(settings: RunSettings) -> SplitOptions:
    """How long recordings are split into chunks (issue 13), and where finished chunks are kept."""
    return SplitOptions(
        ChunkStore(settings.out),
        settings_hash(transcript_settings(settings)),
        split=settings.split == "auto",
        chunk_seconds=settings.chunk_seconds,
        channels=settings.channels,
        diarize=settings.options.diarize,
        part_seconds=part_seconds(settings),
    )


def chunk_plan(item: WorkItem, options: SplitOptions, *, workers: int, total_audio_s: float) -> ChunkPlan:
    """How ``item`` would be split in a run of ``total_audio_s`` on ``workers`` (for ``plan`` too)."""
    if options.part_seconds is not None:
        return plan_within(item.audio.duration_s, options.part_seconds)
    return plan_chunks(item.audio.duration_s, workers=workers, total_audio_seconds=total_audio_s,
                       chunk_seconds=options.chunk_seconds)  # fmt: skip


def one_session_note(item: WorkItem, options: SplitOptions, *, workers: int, total_audio_s: float) -> str:
    """Why a recording that would be split runs as one session ("" when it is not so)."""
    plan = chunk_plan(item, options, workers=workers, total_audio_s=total_audio_s)
    if options.part_seconds is not None:  # cut only beyond the engine's limit, whatever --diarize says
        return PARTS_NOTE if plan.split and options.diarize else ""
    return ONE_SESSION_NOTE if options.split and plan.split and options.diarize else ""


@dataclass(frozen=True)
class SplitSummary:
    """For ``batchscribe plan``: recordings to be split, their chunks, and those kept whole."""

    split_files: int = 0
    chunks: int = 0
    one_session: int = 0  # long enough to split, but run as one session (--diarize)
    longest_session_s: float = 0.0  # the most audio one session sends: a whole recording or a chunk


def split_summary(items: Sequence[WorkItem], options: SplitOptions, capacity: int) -> SplitSummary:
    """How ``run`` splits ``items`` with ``capacity`` sessions at once (``RunSettings.capacity``,
    the same number the run's runner sizes its chunks for)."""
    total = sum(i.audio.duration_s for i in items)
    plans = [chunk_plan(i, options, workers=capacity, total_audio_s=total) for i in items]
    parts = options.part_seconds is not None  # cut only beyond the engine's limit, and then always
    splittable = [p for p in plans if (options.split or parts) and p.split]
    chunked = parts or (options.split and not options.diarize)  # a plan that does not split is its duration
    lengths = [p.chunk_seconds if chunked and p.split else i.audio.duration_s
               for i, p in zip(items, plans, strict=True)]  # fmt: skip
    longest = max(lengths, default=0.0)
    if parts:
        return SplitSummary(len(splittable), sum(p.chunks for p in splittable), longest_session_s=longest)
    if options.diarize:
        return SplitSummary(one_session=len(splittable), longest_session_s=longest)
    return SplitSummary(len(splittable), sum(p.chunks for p in splittable), longest_session_s=longest)
