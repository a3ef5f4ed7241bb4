"""The job engine's run (``--engine batch``): plan, upload, submit, poll, collect, write, report.

Not the session pool: recordings are planned as every run plans them (``streaming.PlanFeed``,
the same ledger and decisions), gathered into jobs of ``--batch-size``, uploaded (content-
addressed, in parallel) and submitted as planning goes, so the first job leaves within seconds
of the start. Jobs left at the service by an earlier run (the job store, ``state/job_store.py``)
are picked up first. Then the run polls every job with one call, at ``--poll-interval``, backing
off while nothing changes, and collects each finished job: results written through the same
writers, recorded in the same ledger, the job deleted and its uploads removed. ``--no-wait``
stops after one poll: what is still at the service is collected by the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.cancel import CancelToken
from batchscribe.config.settings import RunSettings
from batchscribe.engines.batch.settings import EMULATED_JOB_PREFIX
from batchscribe.engines.jobs import JobEngine, JobStatus, RecordingResult
from batchscribe.errors import (
    FileError,
    PermanentEngineError,
    TransientEngineError,
)
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult, FileTally
from batchscribe.running.events import JobEvents, RunEvents
from batchscribe.running.job_results import (
    TRANSIENT_JOB_CODES,
    age_s,
    duration,
    failed_result,
    job_failure,
    member_result,
)
from batchscribe.running.job_uploads import UPLOAD_THREADS, remove_orphans, upload_job
from batchscribe.state.job_store import JobStore, Member, StoredJob
from batchscribe.state.ledger import Ledger

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 600.0  # polls slow down while jobs wait, to at most this apart
STUCK_AFTER_S = 24 * 3600.0  # the service's best effort: a job past this is reported


def job_prefix(settings: RunSettings) -> str:
    """How this run's job names begin: ``batchscribe `` (the display name names the run), or
    ``EMULATED_JOB_PREFIX`` for the in-process emulator of ``--emulate``, whose jobs end with
    the run (``job_run.forget_emulated_jobs`` forgets those, and only those)."""
    return EMULATED_JOB_PREFIX if settings.endpoint.kind == "emulator" else "batchscribe "


@dataclass
class JobDriver:
    """Drives one run's jobs; ``tally`` counts what finished, ``polls`` the status calls."""

    settings: RunSettings
    engine: JobEngine
    store: JobStore
    ledger: Ledger
    wanted_hash: str
    run_id: str
    sink: RunEvents
    cancel: CancelToken
    clock: Callable[[], float] = time.monotonic
    stuck_after_s: float | None = None  # None: STUCK_AFTER_S
    budget_s: float | None = None  # audio seconds to submit at most (--max-hours, --max-cost)
    over_budget: int = 0  # recordings left for the next run by the budget
    _submitted_audio_s: float = 0.0
    tally: FileTally = field(default_factory=FileTally)
    polls: int = 0
    first_submit_at: float | None = None
    _buffer: list[WorkItem] = field(default_factory=list)
    _sequence: int = 0
    _seen: dict[str, float] = field(default_factory=dict)  # job name -> when this run first saw it
    _states: dict[str, str] = field(default_factory=dict)  # job name -> last status seen
    _warned: set[tuple[str, str]] = field(default_factory=set)  # (job name, what was said once)
    _waiting: dict[str, str] = field(default_factory=dict)  # job name -> "id: state for h:mm:ss"

    # --- submitting -------------------------------------------------------------------------

    def add(self, items: Sequence[WorkItem]) -> bool:
        """Planned recordings: into jobs of ``batch_size``; False once the run is cancelled."""
        for item in items:
            if self.store.pending(item.source):  # already at the service
                continue
            if self.budget_s is not None and self._submitted_audio_s + item.audio.duration_s > self.budget_s:
                self.over_budget += 1  # left for the next run, like the pool's budget
                continue
            if (refused := self.engine.refusal(item.audio)) is not None:  # never uploaded
                self._fail_unsent(item, refused, attempts=0)
                continue
            self._buffer.append(item)
            self._submitted_audio_s += item.audio.duration_s
            if len(self._buffer) >= self._job_size():
                self.flush()
        return not self.cancel.is_cancelled()

    @property
    def jobs_made(self) -> int:
        """Jobs this run made (submitted, or failed before they could be)."""
        return self._sequence

    def _job_size(self) -> int:
        return min(self.settings.batch.job_size(first=self._sequence == 0), self.engine.max_batch)

    def _fail_unsent(self, item: WorkItem, failure: FileError, *, attempts: int) -> None:
        """A recording that failed before it reached a job (refused, or its upload failed)."""
        self._finish(
            item.source,
            item.file.path,
            item.audio,
            failure=failure,
            size=item.file.size,
            mtime_ns=item.file.mtime_ns,
            sha256="",
            attempts=attempts,
        )

    def flush(self) -> None:
        """Upload and submit what is gathered (``job_uploads.upload_job``: intents first, then
        the uploads with progress told to the sink), then the job reserved and sent."""
        items, self._buffer = self._buffer, []
        if not items or self.cancel.is_cancelled():
            return
        self._sequence += 1
        job_name = f"{job_prefix(self.settings)}{self.run_id} job {self._sequence}"
        self._job_event(job_name, "", "Uploading", len(items))
        members, failures = upload_job(
            job_name, items, engine=self.engine, store=self.store, run_id=self.run_id, sink=self.sink,
            settings_hash=self.wanted_hash, clock=self.clock,
        )  # fmt: skip
        for item, failure in failures:
            self._fail_unsent(item, failure, attempts=1)
        if not members:
            self._job_event(job_name, "", "Collected", 0)
            return
        self.store.reserve(job_name, members, run=self.run_id)
        self._submit(job_name, members)

    def _submit(self, name: str, members: Sequence[Member]) -> None:
        """Submit a reserved job; one the service refuses fails its recordings."""
        try:
            job_id = self.engine.submit(name, [m.upload for m in members])
        except PermanentEngineError as exc:
            self._fail_job(name, exc)
            return
        except TransientEngineError as exc:  # left 'submitting': found or sent again by the next poll
            log.warning("%s not submitted yet: %s", name, exc.one_line())
            return
        self.store.submitted(name, job_id)
        self._job_event(name, job_id, "Submitted", len(members))
        if self.first_submit_at is None:
            self.first_submit_at = self.clock()
        log.info("submitted %s (%s): %d recording(s)", name, job_id, len(members))

    def over_budget_reason(self) -> str:
        if not self.over_budget:
            return ""
        return (
            f"budget reached (--max-hours/--max-cost): {self.over_budget} recording(s) left for the next run"
        )

    def resume(self) -> None:
        """Jobs an earlier run left: finish a cleanup, or find (by name) what a kill left unrecorded;
        uploads a kill left before their job was recorded are removed."""
        remove_orphans(self.store, self.engine, run_id=self.run_id, keep=self.settings.batch.keep_uploads)
        for job in self.store.jobs():
            if job.state == "collected":
                self._clean_up(job)
            elif job.state == "submitting":
                found = self.engine.find(job.name)
                if found is not None:
                    self.store.submitted(job.name, found)
                    log.info("found %s (%s) at the service", job.name, found)
                else:
                    self._submit(job.name, self.store.members(job.name))

    # --- waiting ----------------------------------------------------------------------------

    def wait(self, *, deadline: float | None) -> str:
        """Poll until nothing is pending, the deadline, ``--no-wait`` or a cancel; why it stopped
        ('' when everything was collected)."""
        interval = self.settings.batch.poll_interval_s
        while not self.cancel.is_cancelled():  # interrupted: nothing more is sent
            try:
                self.resume()  # a job whose submit did not go through: found or sent again
                changed = self.poll()
            except TransientEngineError as exc:  # the service is busy or away: the next poll tries again
                log.warning("polling: %s", exc.one_line())
                changed = False
            pending = self.store.pending_count()
            if not pending:
                return ""
            if self.settings.batch.no_wait:
                return (
                    f"{pending} recording(s) pending at the service (--no-wait): the next run collects them"
                    + self._waiting_jobs()
                )
            interval = self.settings.batch.poll_interval_s if changed else min(interval * 1.5, MAX_BACKOFF_S)
            interval = max(interval, self.settings.batch.poll_interval_s)
            if deadline is not None and self.clock() + interval > deadline:
                return (
                    f"{pending} recording(s) still at the service at --max-runtime: the next run collects"
                    + self._waiting_jobs()
                )
            self.cancel.wait(interval)
        pending = self.store.pending_count()  # interrupted: what is left at the service, said
        return f"{pending} recording(s) pending at the service: the next run collects them" if pending else ""

    def _waiting_jobs(self, shown: int = 5) -> str:
        """The jobs still at the service, for the summary: id, status and age of each (a few)."""
        names = [j.name for j in self.store.jobs() if j.state == "submitted" and j.name in self._waiting]
        listed = "; ".join(self._waiting[n] for n in names[:shown])
        more = f"; and {len(names) - shown} more" if len(names) > shown else ""
        return f" (jobs: {listed}{more})" if listed else ""

    def poll(self) -> bool:
        """One status call for every job; collect what finished. True when a job's state changed."""
        jobs = [j for j in self.store.jobs() if j.state == "submitted"]
        if not jobs:
            return False
        self.polls += 1
        statuses = self.engine.statuses([j.job_id for j in jobs])
        changed = False
        for job in jobs:
            status = statuses.get(job.job_id, JobStatus(job.job_id, "Lost"))
            changed |= self._states.get(job.name) != status.state
            self._states[job.name] = status.state
            self._handle(job, status)
        return changed

    def _handle(self, job: StoredJob, status: JobStatus) -> None:
        if status.state == "Succeeded":
            self._collect(job)
        elif status.state == "Lost":
            if job.lost == 0:
                log.warning("%s (%s) is lost at the service: submitting it again", job.name, job.job_id)
                self.store.resubmitting(job.name, lost=True)
                self._submit(job.name, self.store.members(job.name))
            else:
                self._fail_job(
                    job.name,
                    PermanentEngineError(
                        f"the service lost job {job.job_id} twice",
                        code="job_lost",
                        hint="run again; if it keeps happening, check the Speech resource's batch quota",
                    ),
                )
        elif status.state == "Failed":
            transient = status.error_code in TRANSIENT_JOB_CODES
            if transient and job.submits <= self.settings.retries:
                log.warning("%s failed (%s): submitting it again", job.name, status.error_code)
                # Recorded first: a kill before the delete leaves a failed job at the service
                # (gone with its time to live), never one taken for lost and sent once more.
                self.store.resubmitting(job.name, lost=False)
                self.engine.forget(job.job_id)
                self._submit(job.name, self.store.members(job.name))
                return
            self._fail_job(job.name, job_failure(status))  # recorded, then the job deleted
        else:
            self._watch(job, status)

    def _watch(self, job: StoredJob, status: JobStatus) -> None:
        seen = self._seen.setdefault(job.name, self.clock())
        age = age_s(job.created_at, fallback=self.clock() - seen)
        self._job_event(job.name, job.job_id, status.state, len(self.store.members(job.name)), age)
        self._waiting[job.name] = f"{job.job_id} {status.state} for {duration(age)}"
        if status.unknown and (job.name, f"status {status.unknown}") not in self._warned:
            self._warned.add((job.name, f"status {status.unknown}"))
            log.warning(
                "job %s (%s) is in a status batchscribe does not know (%r): taken as running and asked "
                "again at every poll (--max-runtime ends the wait)",
                job.job_id,
                job.name,
                status.unknown,
            )
        stuck_after = STUCK_AFTER_S if self.stuck_after_s is None else self.stuck_after_s
        if age > stuck_after and (job.name, "stuck") not in self._warned:
            self._warned.add((job.name, "stuck"))
            log.warning(
                "job %s (%s) has been %s for %s, beyond the service's usual; it is left to finish",
                job.job_id,
                job.name,
                status.state,
                duration(age),
            )

    # --- collecting -------------------------------------------------------------------------

    def _collect(self, job: StoredJob) -> None:
        members = {m.index: m for m in self.store.members(job.name)}
        count = len(members)
        total = max(members) + 1 if members else 0  # members already done are left out
        uploads = [members[i].upload if i in members else "" for i in range(total)]
        for result in self.engine.results(job.job_id, uploads):
            member = members.pop(result.index, None)
            if member is not None:
                self._write(member, result, attempts=job.submits)
        for member in members.values():  # the service returned nothing for these
            self._write(
                member,
                RecordingResult(
                    member.index,
                    error=PermanentEngineError(
                        "the service returned no result for this recording", code="no_result"
                    ),
                ),
                attempts=job.submits,
            )
        self.store.collected(job.name)
        self._job_event(job.name, job.job_id, "Collected", count)
        self._clean_up(job)

    def _write(self, member: Member, result: RecordingResult, *, attempts: int) -> None:
        written = member_result(
            self.settings, member, result, engine=self.engine.name, run_id=self.run_id, attempts=attempts,
            submitted_with=self.store.settings_of(member.settings),
        )  # fmt: skip
        # Done under the settings it was submitted with: collected by a run with other settings,
        # it is transcribed again under those by the next run, never taken as theirs.
        self.record(written, size=member.size, mtime_ns=member.mtime_ns, settings=member.settings)

    def _job_event(self, name: str, job_id: str, state: str, recordings: int, age_s: float = 0.0) -> None:
        if isinstance(self.sink, JobEvents):
            self.sink.job_changed(name, job_id, state, age_s, recordings)

    def _finish(self, source: str, path: Path, audio: AudioInfo | None, *, failure: FileError, size: int,
                mtime_ns: int, sha256: str, attempts: int) -> None:  # fmt: skip
        self.record(failed_result(source, path, audio, failure, sha256=sha256, attempts=attempts), size=size,
                    mtime_ns=mtime_ns)  # fmt: skip

    def record(self, result: FileResult, *, size: int, mtime_ns: int, settings: str = "") -> None:
        self.ledger.record(
            result,
            size=size,
            mtime_ns=mtime_ns,
            sha256=result.sha256,
            settings=settings or self.wanted_hash,
            run_id=self.run_id,
        )
        self.store.done(result.source)
        self.tally.add(result)
        self.sink.file_finished(result)

    def _fail_job(self, name: str, error: FileError) -> None:
        job = self.store.job(name)
        for member in self.store.members(name):
            self._finish(
                member.source,
                member.path,
                AudioInfo(**member.audio),  # type: ignore[arg-type]
                failure=error,
                size=member.size,
                mtime_ns=member.mtime_ns,
                sha256=member.sha256,
                attempts=job.submits if job else 1,
            )
        self.store.collected(name)
        if job is not None:
            self._clean_up(job)  # a lost job's delete answers 404: fine

    def _clean_up(self, job: StoredJob) -> None:
        """A collected job: deleted at the service, its uploads removed, then forgotten here."""
        if job.job_id:
            self.engine.forget(job.job_id)
        if not self.settings.batch.keep_uploads:
            unused = [u for u in sorted(self.store.uploads(job.name)) if not self.store.upload_in_use(u)]
            with ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="batchscribe-remove") as pool:
                list(pool.map(self.engine.remove_upload, unused))
        self.store.drop(job.name)
