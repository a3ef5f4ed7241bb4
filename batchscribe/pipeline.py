"""The library entry point: discover, plan, run, write the report; returns a ``RunResult``.

The CLI is a thin layer over ``run_batch``. Everything here is usable from Python::

    result = run_batch(settings)          # settings: batchscribe.settings.RunSettings
    sys.exit(result.exit_code)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import __version__, audio
from batchscribe.cancel import CancelToken
from batchscribe.discovery import AudioFile, discover
from batchscribe.engines.base import Engine, Transcript
from batchscribe.errors import AudioError, BatchscribeError, FileError
from batchscribe.ledger import Decision, Ledger, LedgerRow, RunLock, settings_hash
from batchscribe.limiter import AdaptiveLimiter
from batchscribe.outputs.azure_json import TranscriptMeta, read_transcript_document
from batchscribe.outputs.quality import average_confidence, transcript_warnings
from batchscribe.outputs.writer import output_paths, write_outputs
from batchscribe.report import write_report
from batchscribe.results import Failure, FileResult, RunCounts, RunResult
from batchscribe.runner import Budget, RunEvents, Runner, RunOutcome, WorkItem, Written
from batchscribe.settings import Endpoint, RunSettings

log = logging.getLogger(__name__)
_PROBE_THREADS = 4


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclass
class Plan:
    """What a run will do: work items, plus what was decided before anything ran."""

    items: list[WorkItem] = field(default_factory=list)
    failed_probe: list[FileResult] = field(default_factory=list)
    counts: RunCounts = field(default_factory=RunCounts)

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


def _probe(file: AudioFile) -> WorkItem | FileResult:
    try:
        return WorkItem(file, audio.probe(file.path))
    except AudioError as exc:
        return FileResult(
            source=file.source, path=file.path, status="failed", failure=Failure.from_error(exc)
        )


def _adoptable(
    file: AudioFile, settings: RunSettings, wanted_hash: str
) -> tuple[str, tuple[Path, ...]] | None:
    """A complete transcript already on disk for this content and these settings (kill -9 recovery)."""
    paths = output_paths(settings.out, file.source, settings.formats)
    if not all(p.is_file() for p in paths):
        return None
    try:
        block = read_transcript_document(paths[-1])["batchscribe"]
        digest = sha256_of(file.path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if settings_hash(block.get("settings", {})) != wanted_hash or block.get("sha256") != digest:
        return None
    return digest, paths


def decide(file: AudioFile, row: LedgerRow | None, settings: RunSettings, wanted_hash: str,
           ledger: Ledger | None) -> Decision:  # fmt: skip
    """new / changed / done / failed_before / outputs_missing for one discovered file."""
    if row is None:
        found = None if settings.force or ledger is None else _adoptable(file, settings, wanted_hash)
        if found is None:
            return "new"
        if ledger is not None:
            digest, paths = found
            ledger.adopt(file.source, file.path, size=file.size, mtime_ns=file.mtime_ns, sha256=digest,
                         settings=wanted_hash, outputs=paths, run_id="adopted")  # fmt: skip
        return "done"
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
        if ledger is not None:
            ledger.touch(file.source, size=file.size, mtime_ns=file.mtime_ns)
    if not all(p.is_file() for p in output_paths(settings.out, file.source, settings.formats)):
        return "outputs_missing"
    return "done"


def plan_run(settings: RunSettings, *, ledger: Ledger | None = None, now: datetime | None = None) -> Plan:
    """Discover, consult the state, probe what is due. Nothing is transcribed here."""
    discovered = discover(settings.inputs, include=settings.include, exclude=settings.exclude)
    now = now or datetime.now(timezone.utc)
    settled_before = (now - timedelta(seconds=settings.settle_seconds)).timestamp() * 1e9
    ready = [f for f in discovered.files if f.mtime_ns <= settled_before]
    rows = ledger.rows() if ledger is not None else {}
    wanted_hash = settings_hash(transcript_settings(settings))
    tally: Counter[str] = Counter()
    due: list[AudioFile] = []
    for file in ready:
        decision = decide(file, rows.get(file.source), settings, wanted_hash, ledger)
        if settings.force and decision == "done":
            decision = "changed"
        tally[decision] += 1
        if decision != "done" and (not settings.retry_failed_only or decision == "failed_before"):
            due.append(file)
    plan = Plan(
        counts=RunCounts(
            discovered=len(discovered.files),
            new=tally["new"],
            changed=tally["changed"] + tally["outputs_missing"],
            failed_before=tally["failed_before"],
            skipped_done=tally["done"],
            not_settled=len(discovered.files) - len(ready),
        )
    )
    with ThreadPoolExecutor(_PROBE_THREADS, thread_name_prefix="batchscribe-probe") as pool:
        for probed in pool.map(_probe, due):
            if isinstance(probed, WorkItem):
                plan.items.append(probed)
            else:
                plan.failed_probe.append(probed)
    return plan


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _endpoint_for(settings: RunSettings) -> Iterator[Endpoint]:
    """The settings' endpoint, or an in-process emulator for ``--emulate``."""
    if settings.endpoint.kind != "emulator" or settings.endpoint.url:
        yield settings.endpoint
        return
    from batchscribe.emulator import Emulator

    with Emulator(transcripts=settings.emulator_transcripts, speed=settings.emulator_speed) as emulator:
        yield replace(settings.endpoint, url=emulator.url)


def _default_engine(settings: RunSettings, endpoint: Endpoint) -> Engine:
    from batchscribe.engines.azure import AzureEngine

    return AzureEngine(
        endpoint, settings.options, stall_timeout=settings.stall_timeout, send_rate=settings.sdk_send_rate
    )


EventsFactory = Callable[[Plan], contextlib.AbstractContextManager[RunEvents]]
"""Builds the progress sink once the plan is known (the live view needs the totals)."""


class _Recorder:
    """Passes events on and records every finished file in the ledger as it finishes."""

    def __init__(self, sink: RunEvents, ledger: Ledger, files: dict[str, AudioFile], wanted_hash: str,
                 run_id: str) -> None:  # fmt: skip
        self._sink = sink
        self._ledger = ledger
        self._files = files
        self._hash = wanted_hash
        self._run_id = run_id

    def record(self, result: FileResult) -> None:
        file = self._files[result.source]
        self._ledger.record(result, size=file.size, mtime_ns=file.mtime_ns, sha256=result.sha256,
                            settings=self._hash, run_id=self._run_id)  # fmt: skip

    def file_started(self, item: WorkItem, worker: int) -> None:
        self._sink.file_started(item, worker)

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        self._sink.file_progress(item, audio_seconds)

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        self._sink.file_retrying(item, attempt, error)

    def file_finished(self, result: FileResult) -> None:
        self.record(result)
        self._sink.file_finished(result)

    def concurrency_changed(self, limit: int) -> None:
        self._sink.concurrency_changed(limit)


@contextlib.contextmanager
def _as_factory(events: EventsFactory | RunEvents, plan: Plan) -> Iterator[RunEvents]:
    if callable(events):
        with events(plan) as sink:
            yield sink
    else:
        yield events


def run_batch(
    settings: RunSettings,
    *,
    events: EventsFactory | RunEvents,
    cancel: CancelToken | None = None,
    engine: Engine | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Transcribe everything the settings select that is not done yet.

    Holds the output folder's lock for the whole run; never raises for a per-file failure.
    """
    started_at = datetime.now(timezone.utc)
    run_id = run_id or new_run_id(started_at)
    cancel = cancel or CancelToken()
    with RunLock(settings.out).held():
        ledger = Ledger(settings.out)
        try:
            plan = plan_run(settings, ledger=ledger, now=started_at)
            wanted_hash = settings_hash(transcript_settings(settings))
            files = {i.source: i.file for i in plan.items}
            with _as_factory(events, plan) as sink, _endpoint_for(settings) as endpoint:
                recorder = _Recorder(sink, ledger, files, wanted_hash, run_id)
                for failed in plan.failed_probe:
                    ledger.record(failed, size=0, mtime_ns=0, sha256="", settings=wanted_hash, run_id=run_id)
                    sink.file_finished(failed)
                engine = engine or _default_engine(settings, endpoint)
                try:
                    outcome = _execute(settings, plan, engine, endpoint, recorder, cancel, run_id)
                finally:
                    engine.close()
        finally:
            ledger.close()
        aborted = outcome.aborted
        result = RunResult(
            run_id=run_id,
            started_at=started_at,
            ended_at=datetime.now(timezone.utc),
            settings=settings.public_dict(),
            files=tuple(sorted([*plan.failed_probe, *outcome.results], key=lambda r: r.source)),
            counts=replace(
                plan.counts,
                changed_during_run=len(outcome.changed),
                not_scheduled=len(outcome.not_scheduled),
            ),
            aborted=aborted.one_line() if aborted is not None else "",
            interrupted=cancel.is_cancelled() and aborted is None and cancel.reason == "interrupted",
            stop_reason=outcome.stop_reason,
        )
        write_report(result, settings.out)
    return result


def _execute(
    settings: RunSettings,
    plan: Plan,
    engine: Engine,
    endpoint: Endpoint,
    events: RunEvents,
    cancel: CancelToken,
    run_id: str,
) -> RunOutcome:
    def write(item: WorkItem, transcript: Transcript, attempts: int, elapsed_s: float) -> Written:
        digest = sha256_of(item.file.path)
        meta = TranscriptMeta(
            engine=engine.name,
            endpoint=endpoint.describe(),
            settings=transcript_settings(settings),
            sha256=digest,
            attempts=attempts,
            started_at=datetime.now(timezone.utc) - timedelta(seconds=elapsed_s),
            elapsed_s=elapsed_s,
            run_id=run_id,
            version=__version__,
        )
        outputs = write_outputs(
            out_dir=settings.out,
            source=item.source,
            formats=settings.formats,
            transcript=transcript,
            audio=item.audio,
            meta=meta,
            timestamps=settings.timestamps,
        )
        return Written(
            outputs=outputs,
            sha256=digest,
            warnings=transcript_warnings(transcript, item.audio),
            average_confidence=average_confidence(transcript),
        )

    budget = Budget(audio_seconds=_budget_seconds(settings))
    if settings.max_runtime_s is not None:
        budget.deadline = time.monotonic() + settings.max_runtime_s
    limiter = AdaptiveLimiter(
        settings.workers, start=min(settings.workers, 2), on_change=events.concurrency_changed
    )
    runner = Runner(
        engine,
        write,
        events,
        workers=settings.workers,
        retries=settings.retries,
        channels=settings.channels,
        cancel=cancel,
        budget=budget,
        limiter=limiter,
    )
    return runner.run(plan.items)


def _budget_seconds(settings: RunSettings) -> float | None:
    limits: Sequence[float] = [
        *([settings.max_audio_hours * 3600] if settings.max_audio_hours is not None else []),
        *([settings.max_cost / settings.price_per_hour * 3600] if settings.max_cost is not None else []),
    ]
    return min(limits) if limits else None


__all__ = ["BatchscribeError", "Plan", "new_run_id", "plan_run", "run_batch"]
