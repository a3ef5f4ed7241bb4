"""Decide what a run will do: discover, compare with the ledger, probe what is due.

Each discovered recording is *new*, *changed* (content, transcript settings, or outputs deleted
by hand), *done*, *failed before*, or *not settled* (modified within ``--settle`` seconds).
``preview`` does the same read-only for ``batchscribe plan``, so the plan matches what ``run``
then does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import audio
from batchscribe.config.settings import RunSettings
from batchscribe.errors import AudioError, PermanentEngineError
from batchscribe.names import stored
from batchscribe.outputs.azure_json import read_transcript_document
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.rerender import rerender_outputs
from batchscribe.pipeline.cancel import CancelToken
from batchscribe.pipeline.discovery import AudioFile, discover
from batchscribe.pipeline.ledger import Decision, Ledger, LedgerRow, json_stamp, settings_hash
from batchscribe.pipeline.pool import WorkItem
from batchscribe.results import Failure, FileResult, RunCounts

_PROBE_THREADS = 4


@dataclass
class Plan:
    """What a run will do: work items, plus what was decided before anything ran."""

    items: list[WorkItem] = field(default_factory=list)
    failed_probe: list[FileResult] = field(default_factory=list)
    counts: RunCounts = field(default_factory=RunCounts)
    output_folders: frozenset[Path] = frozenset()  # where the discovered files' outputs go
    notes: list[str] = field(default_factory=list)  # what the user should know, e.g. a damaged state

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


DIARIZATION_LIMIT_S = 240 * 60  # the service's limit for real-time diarization


def _probe(file: AudioFile, settings: RunSettings) -> WorkItem | FileResult:
    """A work item, or the failure that keeps the file from being sent at all."""
    try:
        info = audio.probe(file.path)
        if settings.options.diarize and info.duration_s > DIARIZATION_LIMIT_S:
            raise PermanentEngineError(
                f"{info.duration_s / 60:.0f} minutes is longer than the 240 minutes the service can "
                "diarize in real time; it was not sent",
                code="too_long_to_diarize",
                hint="split the recording, or transcribe it without --diarize",
            )
    except (AudioError, PermanentEngineError) as exc:
        return FileResult(
            source=file.source, path=file.path, status="failed", failure=Failure.from_error(exc)
        )
    return WorkItem(file, info)


def _unlisted(source: str, path: Path, why: str) -> FileResult:
    """A folder that could not be listed (or a given path that is no file): said, never skipped."""
    error = AudioError(
        f"cannot look inside: {why}" if why != "not a regular file" else "not a regular file",
        code="unreadable",
        hint="give batchscribe read access to it, or exclude it" if why != "not a regular file"
        else "only regular files can be transcribed: leave it out",
    )  # fmt: skip
    return FileResult(source=source, path=path, status="failed", failure=Failure.from_error(error))


def _adoptable(
    file: AudioFile, settings: RunSettings, wanted_hash: str
) -> tuple[str, tuple[Path, ...]] | None:
    """A transcript already on disk for this content and these settings (kill -9 recovery)."""
    paths = OutFolder(settings.out).output_paths(file.source, settings.formats)
    try:
        block = read_transcript_document(paths[-1])["batchscribe"]
        digest = sha256_of(file.path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if settings_hash(block.get("settings", {})) != wanted_hash or block.get("sha256") != digest:
        return None
    return digest, paths


def decide(file: AudioFile, row: LedgerRow | None, settings: RunSettings, wanted_hash: str,
           ledger: Ledger) -> Decision:  # fmt: skip
    """new / changed / done / failed_before / outputs_missing for one discovered file."""
    if row is None:
        found = None if settings.force else _adoptable(file, settings, wanted_hash)
        if found is None:
            return "new"
        digest, paths = found
        ledger.adopt(file.source, file.path, size=file.size, mtime_ns=file.mtime_ns, sha256=digest,
                     settings=wanted_hash, outputs=paths, run_id="adopted")  # fmt: skip
        return "done" if all(p.is_file() for p in paths) else "rerender"
    if row.status == "failed":
        return "failed_before"
    if row.status != "succeeded":
        return "new"  # cancelled or interrupted last time
    if row.settings_hash != wanted_hash:
        return "changed"
    if (row.size, row.mtime_ns) != (file.size, file.mtime_ns):
        try:
            same = sha256_of(file.path) == row.sha256
        except OSError:
            same = False
        if not same:
            return "changed"
        ledger.touch(file.source, size=file.size, mtime_ns=file.mtime_ns)
    paths = OutFolder(settings.out).output_paths(file.source, settings.formats)
    if paths[-1].is_file() and not _transcript_matches(file.source, row, paths[-1], wanted_hash, ledger):
        return "changed"  # the JSON was cut, edited or replaced by hand: what is done is no longer there
    if all(p.is_file() for p in paths):
        return "done"
    # A format was added or a file deleted by hand: the JSON (written last) has everything needed.
    return "rerender" if paths[-1].is_file() else "outputs_missing"


def _transcript_matches(source: str, row: LedgerRow, path: Path, wanted_hash: str, ledger: Ledger) -> bool:
    """The transcript JSON still parses and is of this content and these settings.

    Read only when it changed on disk since it was last checked (its size and mtime are kept in
    the row), so a nightly run does not parse every transcript ever written."""
    stamp = json_stamp(path)
    if stamp and stamp == row.json_stamp:
        return True
    try:
        block = read_transcript_document(path)["batchscribe"]
        same_settings = settings_hash(block.get("settings", {})) == wanted_hash
        matches = block.get("sha256") == row.sha256 and same_settings
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if matches:
        ledger.stamp(source, stamp)
    return bool(matches)


def _rerendered(file: AudioFile, settings: RunSettings, *, write: bool) -> bool:
    """Render the missing outputs from the JSON; False when that JSON turns out to be unusable."""
    if not write:
        return True
    try:
        rerender_outputs(settings.out, file.source, settings.formats, timestamps=settings.timestamps)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def plan_run(
    settings: RunSettings, *, ledger: Ledger, now: datetime | None = None, write: bool = True,
    cancel: CancelToken | None = None,
) -> Plan:  # fmt: skip
    """Discover, consult the state, probe what is due. Nothing is transcribed here, but outputs
    missing beside an intact JSON are rendered from it (unless ``write`` is False: a preview)."""
    discovered = discover(settings.inputs, include=settings.include, exclude=settings.exclude)
    now = now or datetime.now(timezone.utc)
    settled_before = (now - timedelta(seconds=settings.settle_seconds)).timestamp() * 1e9
    ready = [f for f in discovered.files if f.mtime_ns <= settled_before]
    rows = ledger.rows()
    wanted_hash = settings_hash(transcript_settings(settings))
    tally: Counter[str] = Counter()
    due: list[AudioFile] = []
    for file in ready:
        decision = decide(file, rows.get(stored(file.source)), settings, wanted_hash, ledger)
        if settings.force and decision in ("done", "rerender"):
            decision = "changed"
        if decision == "rerender" and not _rerendered(file, settings, write=write):
            decision = "outputs_missing"
        tally[decision] += 1
        if decision not in ("done", "rerender") and (
            not settings.retry_failed_only or decision == "failed_before"
        ):
            due.append(file)
    layout = OutFolder(settings.out)
    plan = Plan(
        output_folders=frozenset(
            layout.output_paths(f.source, ("json",))[0].parent for f in discovered.files
        ),
        counts=RunCounts(
            discovered=len(discovered.files),
            new=tally["new"],
            changed=tally["changed"] + tally["outputs_missing"],
            failed_before=tally["failed_before"],
            skipped_done=tally["done"],
            rerendered=tally["rerender"],
            not_settled=len(discovered.files) - len(ready),
        )
    )
    if ledger.damaged:
        plan.notes.append(
            ledger.damaged if not ledger.read_only else f"{ledger.damaged}: the next run moves it aside and "
            "rebuilds it from the transcripts on disk (failures recorded before are forgotten)"
        )
    plan.failed_probe += [_unlisted(source, path, why) for source, path, why in discovered.unreadable]
    cancel = cancel or CancelToken()

    def probe(file: AudioFile) -> WorkItem | FileResult | None:
        return None if cancel.is_cancelled() else _probe(file, settings)  # Ctrl-C: stop at once

    with ThreadPoolExecutor(_PROBE_THREADS, thread_name_prefix="batchscribe-probe") as pool:
        for probed in pool.map(probe, due):
            if isinstance(probed, WorkItem):
                plan.items.append(probed)
            elif probed is not None:
                plan.failed_probe.append(probed)
    return plan


def preview(settings: RunSettings) -> Plan:
    """What ``run`` would do now, without changing anything (``batchscribe plan``)."""
    ledger = Ledger(settings.out, read_only=True)
    try:
        return plan_run(settings, ledger=ledger, write=False)
    finally:
        ledger.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
