"""The library entry point: discover, plan, run, write the report; returns a ``RunResult``.

The CLI is a thin layer over ``run_batch``. Everything here is usable from Python::

    result = run_batch(settings)    # settings: batchscribe.config.settings.RunSettings; events optional
    sys.exit(result.exit_code)
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import __version__
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Engine, Transcript
from batchscribe.errors import FileError, RunAbortedError
from batchscribe.names import shown
from batchscribe.outputs.atomic import remove_stale_temp_files, write_atomic
from batchscribe.outputs.azure_json import TranscriptMeta
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.quality import average_confidence, transcript_warnings
from batchscribe.outputs.writer import write_outputs
from batchscribe.pipeline.cancel import CancelToken
from batchscribe.pipeline.discovery import AudioFile
from batchscribe.pipeline.ledger import Ledger, RunLock, settings_hash
from batchscribe.pipeline.limiter import AdaptiveLimiter
from batchscribe.pipeline.planner import Plan, plan_run, sha256_of, transcript_settings
from batchscribe.pipeline.pool import Budget, Fanout, RunEvents, Runner, RunOutcome, WorkItem, Written
from batchscribe.report import SUMMARY_JSON, write_report
from batchscribe.report.summary import render_summary_json, summary_document
from batchscribe.results import FileResult, RunResult

log = logging.getLogger(__name__)


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    # Milliseconds keep run ids in time order even for runs in the same second ("latest run").
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"


@contextlib.contextmanager
def endpoint_for(settings: RunSettings) -> Iterator[Endpoint]:
    """The settings' endpoint, or an in-process emulator for ``--emulate``."""
    if settings.endpoint.kind != "emulator" or settings.endpoint.url:
        yield settings.endpoint
        return
    from batchscribe.emulator import Emulator, Transcripts
    from batchscribe.emulator.scripts import default_path

    # Without --emulator-transcripts: what `batchscribe emulator script add` wrote, if anything.
    transcripts = Transcripts.load(settings.emulator_transcripts or default_path(), missing_ok=True)
    with Emulator(transcripts=transcripts, speed=settings.emulator_speed) as emulator:
        yield replace(settings.endpoint, url=emulator.url)


def _default_engine(settings: RunSettings, endpoint: Endpoint, limiter: AdaptiveLimiter) -> Engine:
    from batchscribe.engines.azure import AzureEngine

    return AzureEngine(
        endpoint,
        settings.options,
        stall_timeout=settings.stall_timeout,
        send_rate=settings.sdk_send_rate,
        on_pushback=limiter.throttled_by_service,
        on_admitted=limiter.admitted,
        close_before_next=lambda: limiter.throttled > 0,
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
def _as_factory(events: EventsFactory | RunEvents | None, plan: Plan) -> Iterator[RunEvents]:
    if events is None:
        yield Fanout([])  # nobody is watching
    elif callable(events):
        with events(plan) as sink:
            yield sink
    else:
        yield events


def run_batch(
    settings: RunSettings,
    *,
    events: EventsFactory | RunEvents | None = None,
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
            plan = plan_run(settings, ledger=ledger, now=started_at, cancel=cancel)
            for note in plan.notes:
                log.warning("%s", note)
            remove_stale_temp_files(_written_folders(settings, plan))  # a killed run's half-written files
            wanted_hash = settings_hash(transcript_settings(settings))
            files = {i.source: i.file for i in plan.items}
            with _as_factory(events, plan) as sink, endpoint_for(settings) as endpoint:
                recorder = _Recorder(sink, ledger, files, wanted_hash, run_id)
                for failed in plan.failed_probe:
                    ledger.record(failed, size=0, mtime_ns=0, sha256="", settings=wanted_hash, run_id=run_id)
                    sink.file_finished(failed)
                limiter = AdaptiveLimiter(settings.workers, start=1, on_change=sink.concurrency_changed)
                engine = engine or _default_engine(settings, endpoint, limiter)
                try:
                    outcome = _execute(settings, plan, engine, endpoint, recorder, cancel, run_id, limiter)
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
                throttled=limiter.throttled,
                peak_concurrency=limiter.peak if plan.items else 0,
                final_concurrency=limiter.limit if plan.items else 0,
            ),
            aborted=aborted.one_line() if aborted is not None else "",
            interrupted=cancel.is_cancelled() and aborted is None and cancel.reason == "interrupted",
            stop_reason=outcome.stop_reason,
        )
        result = _write_report(result, settings.out)
    return result


def _write_report(result: RunResult, out: Path) -> RunResult:
    """Write the run's report; when the disk cannot take it, say so in the result (exit 3).

    The whole report first; if that fails, ``summary.json`` alone (the smallest part, the one
    ``batchscribe report`` reads) if any space is left for it."""
    try:
        write_report(result, out)
        return result
    except (RunAbortedError, OSError) as exc:
        reason = exc.message if isinstance(exc, RunAbortedError) else f"{exc.strerror or exc}"
    folder = OutFolder(out).run_dir(result.run_id)

    def noted(note: str) -> RunResult:
        return replace(result, aborted=f"{result.aborted}; {note}" if result.aborted else note)

    partial = noted(f"only the run's summary.json could be written ({reason})")
    try:
        write_atomic(folder / SUMMARY_JSON, render_summary_json(summary_document(partial)))
    except (RunAbortedError, OSError):
        return noted(f"the run's report could not be written in {shown(str(folder))} ({reason})")
    return partial


def _execute(
    settings: RunSettings,
    plan: Plan,
    engine: Engine,
    endpoint: Endpoint,
    events: RunEvents,
    cancel: CancelToken,
    run_id: str,
    limiter: AdaptiveLimiter,
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
        budget.hard_deadline = budget.deadline + settings.max_runtime_grace_s
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


def _written_folders(settings: RunSettings, plan: Plan) -> list[Path]:
    """The folders this run may write to, inside --out: where killed runs left their temp files."""
    layout = OutFolder(settings.out)
    try:
        reports = [p for p in layout.runs_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        reports = []
    return [f for f in plan.output_folders if layout.contains(f)] + reports


def _budget_seconds(settings: RunSettings) -> float | None:
    limits: Sequence[float] = [
        *([settings.max_audio_hours * 3600] if settings.max_audio_hours is not None else []),
        *([settings.max_cost / settings.price_per_hour * 3600] if settings.max_cost is not None else []),
    ]
    return min(limits) if limits else None


__all__ = ["Plan", "new_run_id", "run_batch"]
