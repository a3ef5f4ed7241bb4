"""``run_jobs``: the library entry point of a ``--engine batch`` run; returns a ``RunResult``
like ``run.run_batch`` (which hands batch runs here), with the same lock, ledger and report."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone

from batchscribe.cancel import CancelToken
from batchscribe.config.settings import RunSettings
from batchscribe.engines.batch.settings import EMULATED_JOB_PREFIX
from batchscribe.engines.jobs import JobEngine
from batchscribe.errors import BatchscribeError, UsageError
from batchscribe.planning.planner import Plan, damaged_state_note, transcript_settings
from batchscribe.planning.streaming import FeedTarget, PlanFeed
from batchscribe.results import FileResult, RunResult
from batchscribe.running.events import Fanout, PlanEvents, RunEvents
from batchscribe.running.jobs import JobDriver
from batchscribe.state.job_store import JobStore
from batchscribe.state.ledger import Ledger, RunLock, settings_hash

log = logging.getLogger(__name__)

JobEngineFactory = Callable[[RunSettings], JobEngine]
EventsFactory = Callable[[Plan], contextlib.AbstractContextManager[RunEvents]]


def run_jobs(
    settings: RunSettings,
    *,
    engine_factory: JobEngineFactory,
    run_id: str,
    events: EventsFactory | RunEvents | None = None,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
    budget_s: float | None = None,
) -> tuple[RunResult, JobDriver | None]:
    """Collect what earlier runs left at the service, submit what is due, wait (unless
    ``--no-wait``) within ``--max-runtime``; the result (its report not written yet) and the
    driver (its polls, for tests and benchmarks). ``budget_s``: audio seconds to submit at most
    (--max-hours, --max-cost); what is over it is left for the next run."""
    started_at = datetime.now(timezone.utc)
    cancel = cancel or CancelToken()
    deadline = clock() + settings.max_runtime_s if settings.max_runtime_s is not None else None
    driver: JobDriver | None = None
    feed: PlanFeed | None = None
    aborted, stop_reason, at_service = "", "", ""
    with RunLock(settings.out).held():
        ledger = Ledger(settings.out)
        store = JobStore(settings.out)
        try:
            if note := damaged_state_note(ledger):
                log.warning("%s", note)
            if settings.endpoint.kind == "emulator":
                forget_emulated_jobs(store)
            wanted = transcript_settings(settings)
            wanted_hash = settings_hash(wanted)
            store.remember_settings(wanted_hash, wanted)
            with _sink(events) as sink:
                engine: JobEngine | None = None
                stop_waiting: Callable[[], None] = _nothing
                try:
                    engine = engine_factory(settings)  # a sign-in that fails here stops the run too
                    stop_waiting = cancel.on_cancel(engine.interrupt)  # Ctrl-C cuts a Retry-After short
                    driver = JobDriver(
                        settings,
                        engine,
                        store,
                        ledger,
                        wanted_hash,
                        run_id,
                        sink,
                        cancel,
                        clock,
                        budget_s=budget_s,
                    )
                    unsent = _unsent(driver)
                    target = FeedTarget(
                        feed=driver.add, unsent=unsent, grew=_grew(sink), stopped=cancel.is_cancelled
                    )
                    feed = PlanFeed(settings, ledger, wanted_hash, started_at, target)
                    driver.resume()
                    feed.run()
                    driver.flush()
                    waited = driver.wait(deadline=deadline)
                    if settings.batch.no_wait:  # left at the service as asked: not a stop
                        at_service, waited = waited, ""
                    stop_reason = "; ".join(r for r in (driver.over_budget_reason(), waited) if r)
                except BatchscribeError as exc:
                    if isinstance(exc, UsageError):
                        raise
                    # Aborted, or the service or storage failing outside a recording (a refused
                    # list call, storage away at the start): the run stops, its jobs stay known.
                    aborted = exc.one_line()
                finally:
                    stop_waiting()
                    if engine is not None:
                        engine.close()
        finally:
            store.close()
            ledger.close()
    counts = feed.counts if feed is not None else None
    tally = driver.tally if driver is not None else None
    result = RunResult(
        run_id=run_id,
        started_at=started_at,
        ended_at=datetime.now(timezone.utc),
        settings={**settings.public_dict(), "batch": settings.batch.public_dict()},
        files=tally.files if tally else (),
        tally=tally,
        aborted=aborted,
        interrupted=cancel.is_cancelled() and not aborted and cancel.reason == "interrupted",
        stop_reason=stop_reason,
        at_service=at_service,
        still_failing=tuple(feed.known_failures) if feed is not None else (),
    )
    if counts is not None:
        result = replace(result, counts=replace(counts, not_scheduled=driver.over_budget if driver else 0))
    return result, driver


def forget_emulated_jobs(store: JobStore) -> None:
    """``--emulate``: the emulator (and an Azurite started with it) ended with the run that
    submitted its jobs, so jobs an earlier run left waiting are nowhere to be found, nor, often,
    their uploads: they are forgotten, and their recordings planned and sent again."""
    waiting = [
        j
        for j in store.jobs()
        if j.state in ("submitting", "submitted") and j.name.startswith(EMULATED_JOB_PREFIX)
    ]  # a job submitted to Azure from the same folder stays: the next real run collects it
    recordings = sum(len(store.members(j.name)) for j in waiting)
    for job in waiting:
        store.drop(job.name)
    if recordings:
        log.warning(
            "%d recording(s) an earlier --emulate run left at its emulator (gone with it) are sent again",
            recordings,
        )


def _nothing() -> None:
    return None


@contextlib.contextmanager
def _sink(events: EventsFactory | RunEvents | None) -> Iterator[RunEvents]:
    if events is None:
        yield Fanout([])
    elif callable(events):
        with events(Plan()) as sink:
            yield sink
    else:
        yield events


def _unsent(driver: JobDriver) -> Callable[[FileResult], None]:
    def unsent(result: FileResult) -> None:  # not audio, unreadable: failed without a job
        st = _stat(result)
        driver.record(result, size=st[0], mtime_ns=st[1])

    return unsent


def _grew(sink: RunEvents) -> Callable[[int, float, int], None]:
    def grew(files: int, audio_seconds: float, found: int) -> None:
        if isinstance(sink, PlanEvents):
            sink.planned(files, audio_seconds, found)

    return grew


def _stat(result: FileResult) -> tuple[int, int]:
    try:
        st = result.path.stat()
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns
