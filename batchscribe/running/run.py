"""The library entry point: discover, plan, run, record; returns a ``RunResult``.

The CLI is a thin layer over ``run_batch``. Everything here is usable from Python::

    from batchscribe.report.writer import report_run

    result = run_batch(settings, report=report_run)  # settings: config.settings.RunSettings
    sys.exit(result.exit_code)

Whoever runs the batch writes its report (``report``: called with the result while the run still
holds the output folder's lock); this package does not import ``report``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchscribe import __version__
from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Engine, Transcript
from batchscribe.engines.channels import SeparateChannels
from batchscribe.engines.jobs import JobEngine
from batchscribe.errors import BatchscribeError
from batchscribe.outputs.atomic import remove_stale_temp_files
from batchscribe.outputs.azure_json import TranscriptMeta
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.quality import average_confidence, transcript_warnings
from batchscribe.outputs.writer import write_outputs
from batchscribe.planning.discovery import Walk, check_inputs, walk
from batchscribe.planning.planner import (
    Plan,
    WorkItem,
    damaged_state_note,
    sha256_of,
    transcript_settings,
)
from batchscribe.planning.streaming import AHEAD, FeedTarget, PlanFeed
from batchscribe.resources.batch_service import batch_service_for
from batchscribe.resources.fast_setup import check_settings as check_engine_settings
from batchscribe.resources.fast_setup import remove_stale_spools
from batchscribe.resources.limiter import AdaptiveLimiter
from batchscribe.resources.outage import OutageGuard
from batchscribe.resources.rotating_engine import RotatingEngine, SpreadLimiter
from batchscribe.resources.rotation import Rotation
from batchscribe.resources.service import EngineFactory, azure_engine, endpoints_for
from batchscribe.results import RunResult
from batchscribe.running.chunks import split_items
from batchscribe.running.events import (
    Fanout,
    RunEvents,
    SummaryEvents,
)
from batchscribe.running.job_run import JobEngineFactory, run_jobs
from batchscribe.running.outcome import Budget, RunOutcome, Written
from batchscribe.running.recorder import Recorder
from batchscribe.running.runner import Runner
from batchscribe.running.split_plan import one_session_note, split_options
from batchscribe.state.ledger import Ledger, RunLock, settings_hash
from batchscribe.summaries.hook import summaries_after
from batchscribe.summary_digest import Status

log = logging.getLogger(__name__)


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    # Milliseconds keep run ids in time order even for runs in the same second ("latest run").
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"


EventsFactory = Callable[[Plan], contextlib.AbstractContextManager[RunEvents]]
"""Builds the progress sink once the plan is known (the live view needs the totals)."""
ReportWriter = Callable[[RunResult, Path], RunResult]
"""Writes a run's report under its output folder; returns the result, noting a failure."""


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
    engine_factory: EngineFactory = azure_engine,
    run_id: str | None = None,
    slow_start: bool = True,
    credential: TokenSource | None = None,
    report: ReportWriter | None = None,
    job_engine_factory: JobEngineFactory | None = None,
) -> RunResult:
    """Transcribe everything the settings select that is not done yet.

    Holds the output folder's lock for the whole run; never raises for a per-file failure.
    ``engine_factory`` builds the engine (tests and benchmarks pass their own); ``--channels
    separate`` wraps it in ``SeparateChannels``. With ``slow_start`` the runner starts at one
    session and grows while the service takes them; without, at ``settings.workers``. With
    several Speech resources, a ``Rotation`` spreads the sessions (``resources/rotating_engine.py``).
    ``credential``: where Entra ID tokens come from (tests pass a fake one). ``report`` writes
    the run's report from its result (``report.writer.report_run``), before the lock is let go;
    what it returns is the result (it may note that the report could not be written).
    ``--engine batch`` runs jobs instead (``job_run.run_jobs``; ``job_engine_factory`` builds them).
    """
    started_at = datetime.now(timezone.utc)
    run_id = run_id or new_run_id(started_at)
    cancel = cancel or CancelToken()
    check_inputs(settings.inputs)
    if settings.engine == "batch":  # jobs at the service, not sessions: running/job_run.py
        return _run_jobs(settings, events, cancel, run_id, credential, report, job_engine_factory)
    check_engine_settings(settings)
    with RunLock(settings.out).held():
        ledger = Ledger(settings.out)
        try:
            if note := damaged_state_note(ledger):
                log.warning("%s", note)
            remove_stale_temp_files(_report_folders(settings))  # a killed run's half-written reports
            remove_stale_spools(settings.out)  # a killed fast run's conversions
            wanted_hash = settings_hash(transcript_settings(settings))
            with _as_factory(events, Plan()) as sink, endpoints_for(settings, credential) as endpoints:
                recorder = Recorder(sink, ledger, wanted_hash, run_id)
                start = 1 if slow_start else settings.workers
                engine, limiter, rotation = _engine(settings, endpoints, engine_factory, start, sink)
                if settings.channels == "separate" and settings.engine != "fast":  # fast: channels [0, 1]
                    engine = SeparateChannels(engine)
                try:
                    feed, outcome = _execute(
                        settings, engine, endpoints, recorder, cancel, run_id, limiter, rotation, started_at
                    )
                finally:
                    engine.close()
                digest = summaries_after(
                    settings,
                    ledger,
                    endpoints,
                    _recordings(settings),
                    aborted=outcome.aborted is not None,
                    audio_seconds=outcome.tally.audio_seconds,
                    run_id=run_id,
                    cancel=cancel,
                    credential=credential,
                    started_at=started_at,
                    status=_summaries_status(sink),
                )
        finally:
            ledger.close()
        aborted = outcome.aborted
        result = RunResult(
            run_id=run_id,
            started_at=started_at,
            ended_at=datetime.now(timezone.utc),
            settings=settings.public_dict(),
            files=outcome.tally.files,
            tally=outcome.tally,
            sent_audio_seconds=outcome.sent_seconds,
            counts=replace(
                feed.counts,
                changed_during_run=len(outcome.changed),
                not_scheduled=len(outcome.not_scheduled),
                throttled=limiter.throttled if rotation is None else rotation.throttled,
                peak_concurrency=outcome.peak_sessions if rotation is None else rotation.peak_active,
                final_concurrency=(limiter.limit if rotation is None else rotation.limit) if feed.due else 0,
            ),
            resources=rotation.stats() if rotation is not None else (),
            aborted=aborted.one_line() if aborted is not None else "",
            interrupted=cancel.is_cancelled() and aborted is None and cancel.reason == "interrupted",
            stop_reason=outcome.stop_reason,
            still_failing=tuple(feed.known_failures),
            summaries=digest,
        )
        if report is not None:
            result = report(result, settings.out)
    return result


def _run_jobs(
    settings: RunSettings,
    events: EventsFactory | RunEvents | None,
    cancel: CancelToken,
    run_id: str,
    credential: TokenSource | None,
    report: ReportWriter | None,
    job_engine_factory: JobEngineFactory | None,
) -> RunResult:
    """A ``--engine batch`` run: for ``--emulate`` the emulator and Azurite started
    (``batch_service_for``); one Entra ID credential for the Speech resource and the container
    (``batch_setup.run_credential``), the resource's token kept fresh while jobs are polled."""
    from batchscribe.resources.batch_setup import batch_engine, run_credential, signed_in

    credential = run_credential(settings, credential)
    with batch_service_for(settings) as service, signed_in(service.settings, credential) as ready:

        def engine(started: RunSettings) -> JobEngine:
            return batch_engine(started, env=service.env, credential=credential)

        result, _ = run_jobs(ready, engine_factory=job_engine_factory or engine, run_id=run_id, events=events,
                             cancel=cancel, budget_s=_budget_seconds(settings))  # fmt: skip
    return report(result, settings.out) if report is not None else result


def _engine(
    settings: RunSettings, endpoints: tuple[Endpoint, ...], engine_factory: EngineFactory, start: int,
    sink: RunEvents,
) -> tuple[Engine, AdaptiveLimiter, Rotation | None]:  # fmt: skip
    """The run's engine and limiter: one resource's, or a rotation spreading sessions over several."""
    if len(endpoints) < 2:
        limiter = AdaptiveLimiter(settings.workers, start=start, on_change=sink.concurrency_changed)
        return engine_factory(settings, endpoints[0], limiter), limiter, None
    resources = [e.resource for e in endpoints if e.resource is not None]
    rotation = Rotation(
        resources, start=start, on_change=lambda _r, _l: sink.concurrency_changed(rotation.limit)
    )
    engines = {e.name: engine_factory(settings, e, rotation.congestion(e.name)) for e in endpoints}
    return RotatingEngine(rotation, engines), SpreadLimiter(rotation), rotation


def _execute(
    settings: RunSettings,
    engine: Engine,
    endpoints: tuple[Endpoint, ...],
    events: Recorder,
    cancel: CancelToken,
    run_id: str,
    limiter: AdaptiveLimiter,
    rotation: Rotation | None,
    started_at: datetime,
) -> tuple[PlanFeed, RunOutcome]:
    """Plan (in a thread, ``streaming.PlanFeed``) and transcribe at the same time."""
    described = "; ".join(e.name for e in endpoints)
    planned_audio = [0.0]  # the run's audio planned so far: how long chunks are, notes

    def write(item: WorkItem, transcript: Transcript, attempts: int, elapsed_s: float) -> Written:
        # The digest of the bytes the engine read, not of whatever is at the path by now.
        digest = transcript.receipt.sha256 if transcript.receipt else sha256_of(item.file.path)
        meta = TranscriptMeta(
            engine=engine.name,
            endpoint=described,
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
        note = one_session_note(item, split, workers=settings.capacity, total_audio_s=planned_audio[0])
        return Written(
            outputs=outputs,
            sha256=digest,
            warnings=transcript_warnings(transcript, item.audio) + ((note,) if note else ()),
            average_confidence=average_confidence(transcript),
        )

    split = split_options(settings)
    budget = Budget(audio_seconds=_budget_seconds(settings))
    if settings.max_runtime_s is not None:
        budget.deadline = time.monotonic() + settings.max_runtime_s
        budget.hard_deadline = budget.deadline + settings.max_runtime_grace_s
    runner = Runner(
        engine,
        write,
        events,
        workers=settings.capacity,  # the sessions plan sized its chunks for, too
        retries=settings.retries,
        cancel=cancel,
        budget=budget,
        limiter=limiter,
        outage=OutageGuard(address=described, rotation=rotation),
        splitter=lambda items, workers: split_items(items, workers, split, total_audio_s=planned_audio[0]),
    )

    def feed_items(items: Sequence[WorkItem]) -> bool:
        for item in items:
            events.files[item.source] = item.file
        planned_audio[0] = feed.audio_seconds
        return runner.feed(items, ahead=AHEAD)

    target = FeedTarget(feed=feed_items, unsent=runner.finished, grew=events.planned,
                        stopped=runner.cancel.is_cancelled)  # fmt: skip
    feed = PlanFeed(settings, events.ledger, events.wanted_hash, started_at, target)
    failure: list[BaseException] = []

    def plan() -> None:
        try:
            feed.run()
            if not runner.cancel.is_cancelled():
                events.plan_finished(feed.due, feed.audio_seconds, feed.discovered)
        except BatchscribeError as exc:  # e.g. the state database cannot be written: ends the run
            runner.abort(exc)
        except BaseException as exc:  # a bug: raised in the caller's thread once the run stopped
            failure.append(exc)
            runner.cancel.cancel("internal error while planning")
        finally:
            runner.done_adding()

    runner.expect_items()
    planning = threading.Thread(target=plan, name="batchscribe-plan", daemon=True)
    planning.start()
    try:
        outcome = runner.run([])  # returns once planning is over too, or the run was cancelled
    finally:
        planning.join()  # a cancelled run stops planning at its next file
    if failure:
        raise failure[0]
    return feed, outcome


def _recordings(settings: RunSettings) -> Iterator[str]:
    """The recordings of the run's inputs, walked again for the summaries stage as it goes."""
    walked = walk(settings.inputs, Walk(), include=settings.include, exclude=settings.exclude)
    return (file.source for file in walked)


def _report_folders(settings: RunSettings) -> list[Path]:
    """The run report folders, where a killed run may have left temp files (output folders are
    cleared as planning reaches them: ``streaming.PlanFeed``)."""
    try:
        return [p for p in OutFolder(settings.out).runs_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _budget_seconds(settings: RunSettings) -> float | None:
    limits: Sequence[float] = [
        *([settings.max_audio_hours * 3600] if settings.max_audio_hours is not None else []),
        *([settings.max_cost / settings.price_per_hour * 3600] if settings.max_cost is not None else []),
    ]
    return min(limits) if limits else None


__all__ = [
    "EngineFactory",
    "Plan",
    "azure_engine",
    "endpoints_for",
    "new_run_id",
    "run_batch",
]


def _summaries_status(sink: object) -> Status | None:
    """The display's ear for the summaries stage, when it has one."""
    return sink.summaries_status if isinstance(sink, SummaryEvents) else None
