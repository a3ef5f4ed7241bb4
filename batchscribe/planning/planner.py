"""Decide what a run will do, without doing any of it: the plan.

Each discovered recording is *new*, *changed* (content, transcript settings, or outputs deleted
by hand), *done*, *failed before* (due again), a *known failure* (failed permanently before and
unchanged since: not sent again unless ``--retry-failed`` or ``--force``), or *not settled*
(modified within ``--settle`` seconds); ``--force`` turns done files into *forced* ones. Per
file the plan says what to do: transcribe it (a ``WorkItem``, probed), adopt a transcript already
on disk that the ledger does not know (kill -9 recovery), remember a new size and mtime of the
same content, render missing outputs from its JSON, or skip it. Planning reads the ledger's rows,
the files and the JSON on disk, and writes nothing: ``batch.run_batch`` applies the plan, and
``preview`` (``batchscribe plan``) is the same computation, not applied.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import audio
from batchscribe.audio import AudioInfo, ReadReceipt
from batchscribe.cancel import CancelToken
from batchscribe.config.settings import RunSettings
from batchscribe.errors import AudioError, FileError, PermanentEngineError
from batchscribe.names import shown, stored
from batchscribe.outputs.azure_json import read_transcript_document
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.writer import check_writable
from batchscribe.planning.discovery import AudioFile, discover
from batchscribe.planning.summaries import SummaryPlan, plan_summaries
from batchscribe.results import Failure, FileResult, KnownFailure, RunCounts
from batchscribe.state.ledger import Decision, Ledger, LedgerRow, json_stamp, settings_hash

_PROBE_THREADS = 4
DIARIZATION_LIMIT_S = 240 * 60  # the service's limit for real-time diarization

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkItem:
    """A recording to transcribe, and what probing it found."""

    file: AudioFile
    audio: AudioInfo

    @property
    def source(self) -> str:
        return self.file.source

    def as_decoded(self, receipt: ReadReceipt | None) -> WorkItem:
        """This recording with the duration of what was decoded from it, when the read says
        (``receipt.decoded_s``): the header's can be wrong (joined MP3s announce the first part's),
        and the transcript's duration, the audio counted and its cost are what was sent."""
        decoded = receipt.decoded_s if receipt is not None else None
        if decoded is None or abs(decoded - self.audio.duration_s) < 0.001:
            return self
        return replace(self, audio=replace(self.audio, duration_s=decoded))


@dataclass(frozen=True)
class Adoption:
    """A transcript on disk for this content and these settings that the ledger does not know."""

    file: AudioFile
    sha256: str
    outputs: tuple[Path, ...]


@dataclass(frozen=True)
class Decided:
    """What to do with one discovered file."""

    decision: Decision
    adopt: Adoption | None = None
    restat: bool = False  # the same content with a new size or mtime: remember them
    stamp: str = ""  # the transcript JSON was read and matches: remember its size and mtime


@dataclass
class Plan:
    """What a run will do; nothing of it is done yet."""

    items: list[WorkItem] = field(default_factory=list)  # to transcribe, probed
    failed_probe: list[FileResult] = field(default_factory=list)  # cannot be sent at all
    adopt: list[Adoption] = field(default_factory=list)  # record in the ledger
    restat: list[AudioFile] = field(default_factory=list)  # update size and mtime in the ledger
    rerender: list[AudioFile] = field(default_factory=list)  # render missing outputs from the JSON
    counts: RunCounts = field(default_factory=RunCounts)
    known_failures: list[KnownFailure] = field(default_factory=list)  # not sent again
    stamps: list[tuple[str, str]] = field(default_factory=list)  # (source, JSON stamp) checked to match
    output_folders: frozenset[Path] = frozenset()  # where the discovered files' outputs go
    notes: list[str] = field(default_factory=list)  # what the user should know, e.g. a damaged state
    summaries: SummaryPlan | None = None  # --summarize: the summaries the run would make (issue 21)

    @property
    def audio_seconds(self) -> float:
        return sum(i.audio.duration_s for i in self.items)


def transcript_settings(settings: RunSettings) -> dict[str, object]:
    """The settings that change a transcript: a change makes done files due again."""
    return {
        **settings.options.as_dict(),
        "phrases": list(settings.options.phrases),
        "channels": settings.channels,
    }


def decide(file: AudioFile, row: LedgerRow | None, settings: RunSettings, wanted_hash: str) -> Decided:
    """new / changed / done / failed_before / known_failure / outputs_missing / rerender for one file."""
    if row is None:
        found = None if settings.force else _adoptable(file, settings, wanted_hash)
        if found is None:
            return Decided("new")
        done = all(p.is_file() for p in found.outputs)
        return Decided("done" if done else "rerender", adopt=found)
    if row.status == "failed":
        same_file = (row.size, row.mtime_ns) == (file.size, file.mtime_ns)
        unchanged = row.settings_hash == wanted_hash and same_file
        retry = settings.retry_failed_only or settings.force
        known = row.failed_permanently and unchanged and not retry
        return Decided("known_failure" if known else "failed_before")
    if row.status != "succeeded":
        return Decided("new")  # cancelled or interrupted last time
    if row.settings_hash != wanted_hash:
        return Decided("changed")
    restat = (row.size, row.mtime_ns) != (file.size, file.mtime_ns)
    if restat and not _same_content(file.path, row.sha256):
        return Decided("changed")
    paths = OutFolder(settings.out).output_paths(file.source, settings.formats)
    stamp = ""
    if paths[-1].is_file():
        matches, stamp = _transcript_matches(row, paths[-1], wanted_hash)
        if not matches:  # the JSON was cut, edited or replaced by hand: what is done is no longer there
            return Decided("changed")
    if all(p.is_file() for p in paths):
        return Decided("done", restat=restat, stamp=stamp)
    # A format was added or a file deleted by hand: the JSON (written last) has everything needed.
    return Decided("rerender" if paths[-1].is_file() else "outputs_missing", restat=restat, stamp=stamp)


def _transcript_matches(row: LedgerRow, path: Path, wanted_hash: str) -> tuple[bool, str]:
    """Whether the transcript JSON still parses and is of this content and these settings, and
    its stamp to remember when it was read to find out.

    Read only when it changed on disk since it was last checked (its size and mtime are kept in
    the row), so a nightly run does not parse every transcript ever written."""
    stamp = json_stamp(path)
    if stamp and stamp == row.json_stamp:
        return True, ""
    try:
        block = read_transcript_document(path)["batchscribe"]
        same_settings = settings_hash(block.get("settings", {})) == wanted_hash
        matches = block.get("sha256") == row.sha256 and same_settings
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False, ""
    return bool(matches), stamp if matches else ""


def settled_before_ns(settings: RunSettings, now: datetime) -> float:
    """Files modified after this (ns since the epoch) are still being written: not settled."""
    return (now - timedelta(seconds=settings.settle_seconds)).timestamp() * 1e9


def is_settled(file: AudioFile, settled_before: float, now: datetime) -> bool:
    """Not modified since ``settled_before``. A modification time in the future (a copy that kept
    a wrong clock's time, ``touch -d``) says nothing about that: then the inode's change time,
    which every write moves and no copy sets, must be that old; the file is named meanwhile."""
    if file.mtime_ns <= settled_before:
        return True
    now_ns = now.timestamp() * 1e9
    if file.mtime_ns <= now_ns:
        return False
    when = datetime.fromtimestamp(file.mtime_ns / 1e9, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if 0 < file.ctime_ns <= settled_before:
        return True
    if file.ctime_ns > now_ns:
        log.warning("%s: its modification and change times are in the future (%s): the file system's "
                    "clock is ahead of this machine's; left for the next run", shown(file.source), when)
    else:
        settle_s = (now_ns - settled_before) / 1e9
        log.warning("%s: its modification time is in the future (%s); it is taken once it has not "
                    "changed for %g s (settle)", shown(file.source), when, settle_s)
    return False


def classify(file: AudioFile, row: LedgerRow | None, settings: RunSettings, wanted_hash: str) -> Decided:
    """``decide``, with ``--force`` turning done files into forced ones."""
    decided = decide(file, row, settings, wanted_hash)
    if settings.force and decided.decision in ("done", "rerender"):
        return replace(decided, decision="forced")
    return decided


def is_due(decision: Decision, settings: RunSettings) -> bool:
    """Whether a file so decided is sent (probed, then transcribed) by this run."""
    if decision in ("known_failure", "rerender", "done"):
        return False
    return not settings.retry_failed_only or decision == "failed_before"


def known_failure(file: AudioFile, row: LedgerRow) -> KnownFailure:
    return KnownFailure(file.source, row.error_code, row.error, row.failing_since)


def planned_counts(tally: Mapping[str, int], *, discovered: int, not_settled: int) -> RunCounts:
    """The plan's counts from how many files got each decision."""
    return RunCounts(
        discovered=discovered,
        new=tally.get("new", 0),
        changed=tally.get("changed", 0) + tally.get("outputs_missing", 0),
        failed_before=tally.get("failed_before", 0),
        known_failures=tally.get("known_failure", 0),
        forced=tally.get("forced", 0),
        skipped_done=tally.get("done", 0),
        rerendered=tally.get("rerender", 0),
        not_settled=not_settled,
    )


def plan_run(
    settings: RunSettings,
    *,
    rows: Mapping[str, LedgerRow],
    now: datetime | None = None,
    cancel: CancelToken | None = None,
) -> Plan:
    """Discover, compare with the ledger's ``rows``, probe what is due. Changes nothing.
    ``cancel`` (Ctrl-C) stops the probing at once."""
    discovered = discover(settings.inputs, include=settings.include, exclude=settings.exclude)
    now = now or datetime.now(timezone.utc)
    settled_before = settled_before_ns(settings, now)
    ready = [f for f in discovered.files if is_settled(f, settled_before, now)]
    wanted_hash = settings_hash(transcript_settings(settings))
    plan = Plan()
    tally: Counter[str] = Counter()
    due: list[AudioFile] = []
    for file in ready:
        row = rows.get(stored(file.source))
        decided = classify(file, row, settings, wanted_hash)
        if decided.adopt is not None:  # never under --force: nothing is adopted then
            plan.adopt.append(decided.adopt)
        if decided.restat:
            plan.restat.append(file)
        if decided.stamp:
            plan.stamps.append((file.source, decided.stamp))
        tally[decided.decision] += 1
        if decided.decision == "known_failure" and row is not None:
            plan.known_failures.append(known_failure(file, row))
        elif decided.decision == "rerender":
            plan.rerender.append(file)
        elif is_due(decided.decision, settings):
            due.append(file)
    plan.counts = planned_counts(
        tally, discovered=len(discovered.files), not_settled=len(discovered.files) - len(ready)
    )
    layout = OutFolder(settings.out)
    plan.output_folders = frozenset(
        layout.output_paths(f.source, ("json",))[0].parent for f in discovered.files
    )
    unlisted = [unlisted_failure(source, path, why) for source, path, why in discovered.unreadable]
    plan.items, plan.failed_probe = probe_all(due, settings, cancel)
    plan.failed_probe[:0] = unlisted
    transcribing = {i.source: i.audio.duration_s for i in plan.items}
    plan.summaries = plan_summaries(settings, ready, rows, transcribing)  # None without --summarize
    return plan


def probe_all(
    files: Iterable[AudioFile], settings: RunSettings, cancel: CancelToken | None = None
) -> tuple[list[WorkItem], list[FileResult]]:
    """Work items for the files that can be sent, and the failures of those that cannot."""
    items: list[WorkItem] = []
    failed: list[FileResult] = []
    cancel = cancel or CancelToken()

    def probe(file: AudioFile) -> WorkItem | FileResult | None:
        return None if cancel.is_cancelled() else probe_one(file, settings)  # Ctrl-C: stop at once

    with ThreadPoolExecutor(_PROBE_THREADS, thread_name_prefix="batchscribe-probe") as pool:
        for probed in pool.map(probe, files):
            if isinstance(probed, WorkItem):
                items.append(probed)
            elif probed is not None:
                failed.append(probed)
    return items, failed


def damaged_state_note(ledger: Ledger) -> str:
    """What a plan says about a damaged state database ("" when it is sound)."""
    if not ledger.damaged:
        return ""
    if not ledger.read_only:
        return ledger.damaged
    return (f"{ledger.damaged}: the next run moves it aside and rebuilds it from the transcripts on disk"
            " (failures recorded before are forgotten)")  # fmt: skip


def preview(settings: RunSettings) -> Plan:
    """What ``run`` would do now, without changing anything (``batchscribe plan``)."""
    ledger = Ledger(settings.out, read_only=True)
    try:
        plan = plan_run(settings, rows=ledger.rows())
        if note := damaged_state_note(ledger):
            plan.notes.append(note)
        return plan
    finally:
        ledger.close()


def probe_one(file: AudioFile, settings: RunSettings) -> WorkItem | FileResult:
    """A work item, or the failure that keeps the file from being sent at all."""
    try:
        check_writable(settings.out, file.source, settings.formats)  # check first, pay after
        info = audio.probe(file.path)
        if settings.options.diarize and info.duration_s > DIARIZATION_LIMIT_S:
            raise PermanentEngineError(
                f"{info.duration_s / 60:.0f} minutes is longer than the 240 minutes the service can "
                "diarize in real time; it was not sent",
                code="too_long_to_diarize",
                hint="split the recording, or transcribe it without --diarize",
            )
    except FileError as exc:  # AudioError, PermanentEngineError, or outputs that cannot be written
        return FileResult(
            source=file.source, path=file.path, status="failed", failure=Failure.from_error(exc)
        )
    return WorkItem(file, info)


def unlisted_failure(source: str, path: Path, why: str) -> FileResult:
    """A folder that could not be listed (or a given path that is no file): said, never skipped."""
    error = AudioError(
        f"cannot look inside: {why}" if why != "not a regular file" else "not a regular file",
        code="unreadable",
        hint="give batchscribe read access to it, or exclude it" if why != "not a regular file"
        else "only regular files can be transcribed: leave it out",
    )  # fmt: skip
    return FileResult(source=source, path=path, status="failed", failure=Failure.from_error(error))


def _adoptable(file: AudioFile, settings: RunSettings, wanted_hash: str) -> Adoption | None:
    """A transcript already on disk for this content and these settings (kill -9 recovery)."""
    paths = OutFolder(settings.out).output_paths(file.source, settings.formats)
    try:
        block = read_transcript_document(paths[-1])["batchscribe"]
        digest = sha256_of(file.path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if settings_hash(block.get("settings", {})) != wanted_hash or block.get("sha256") != digest:
        return None
    return Adoption(file, digest, paths)


def _same_content(path: Path, sha256: str) -> bool:
    try:
        return sha256_of(path) == sha256
    except OSError:
        return False


def sha256_of(path: Path) -> str:
    """Only a regular file is opened, never blocking; anything else is an OSError to callers."""
    try:
        return audio.sha256_of(path)
    except AudioError as exc:
        raise OSError(exc.message) from exc
