"""Show a run as it goes: a rich live view on a terminal, plain or JSON lines otherwise.

On a TTY: overall progress in audio seconds with ETA and throughput, one line per active file,
counts of done / failed / retrying and the current concurrency. Without one (cron): no live view,
no colour, one timestamped line per finished, failed or retried file (``--log-format json``: one
JSON object per line, with the run id). ``--quiet`` keeps only failures. Identical warnings
(20 files with placeholder text) are grouped in text lines; the closing summary counts them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from batchscribe.errors import FileError
from batchscribe.names import shown
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult
from batchscribe.secrets import Redactor

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LineLog:
    """One line per event, for logs and cron mail. Thread-safe."""

    def __init__(
        self, stream: IO[str], *, run_id: str, json_lines: bool = False, quiet: bool = False,
        redact: Redactor | None = None, on_broken: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self._stream = stream
        self._on_broken = on_broken
        self._broken = False
        self._run_id = run_id
        self._json = json_lines
        self._quiet = quiet
        self._redact = redact or Redactor()
        self._lock = threading.Lock()
        self._limit = 0
        self._warned: dict[str, int] = {}  # warning text: files that had it
        self._job_states: dict[str, str] = {}  # batch jobs: the last state logged

    def emit(self, event: str, message: str, *, important: bool = False, **fields: Any) -> None:
        if self._quiet and not important:
            return
        message = shown(self._redact(message))  # a name's newline or ESC must not forge a line
        fields = {name: shown(value) if isinstance(value, str) else value for name, value in fields.items()}
        if self._json:
            record = {"time": _now(), "run_id": self._run_id, "event": event, "message": message, **fields}
            line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        else:
            line = f"{_now()} {event:<9} {message}"
        with self._lock:
            if self._broken:
                return
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except BrokenPipeError:  # the reader left (`| head`): the run goes on, silently
                self._broken = True
                if self._on_broken is not None:
                    self._on_broken()
            except (OSError, ValueError) as exc:  # a full disk, /dev/full, a terminal gone (EIO)
                self._broken = True
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                log.warning("cannot write to %s (%s): the run goes on without it",
                            shown(str(getattr(self._stream, "name", "the log"))), why)  # fmt: skip

    def file_started(self, item: WorkItem, worker: int) -> None:
        pass

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        pass

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        message = f"{item.source}: attempt {attempt} failed ({error.code}): {error.message}; trying again"
        fields: dict[str, Any] = {"source": item.source, "attempt": attempt, "code": error.code}
        fields["reason"] = error.message
        self.emit("retrying", message, **fields)

    def file_finished(self, result: FileResult) -> None:
        if result.status == "succeeded":
            self.emit(
                "done",
                f"{result.source} ({result.audio_seconds:.1f} s audio, {result.elapsed_s:.1f} s, "
                f"{result.attempts} attempt{'s' if result.attempts != 1 else ''})",
                source=result.source, audio_seconds=round(result.audio_seconds, 3), attempts=result.attempts,
            )  # fmt: skip
            for warning in result.warnings:
                self._warning(result.source, warning)
        elif result.status == "failed" and result.failure is not None:
            f = result.failure
            self.emit(
                "failed", f"{result.source}: {f.message} ({f.hint})", important=True,
                source=result.source, code=f.code, error_class=f.error_class, attempts=result.attempts,
            )  # fmt: skip
        else:
            self.emit(
                "cancelled", f"{result.source}: not finished, left for the next run", source=result.source
            )

    def _warning(self, source: str, warning: str) -> None:
        """Identical warnings are grouped in text lines: the first in full, the second says that
        more are folded, the rest only count in the closing summary. JSON lines keep each one."""
        with self._lock:
            seen = self._warned[warning] = self._warned.get(warning, 0) + 1
        if self._json or seen == 1:
            self.emit("warning", f"{source}: {warning}", source=source)
        elif seen == 2:
            short = warning.split(":")[0].split(" (")[0]
            self.emit("warning", f"{source}: {short} too; more files with this warning: see the summary",
                      source=source)  # fmt: skip

    def plan_finished(self, files: int, audio_seconds: float, found: int) -> None:
        """Said at once, before the first file ends: what this night sends."""
        if files:
            whole = round(audio_seconds)
            audio = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
            also = f" ({found} found)" if found != files else ""
            recordings = f"{files} recording{'s' if files != 1 else ''}"
            self.emit("planned", f"{recordings} to send, {audio} of audio{also}",
                      files=files, audio_seconds=round(audio_seconds, 3), found=found)  # fmt: skip

    def job_changed(self, name: str, job_id: str, state: str, age_s: float, recordings: int) -> None:
        """A batch job's line when its state changes (not at every poll: quiet nights)."""
        if self._job_states.get(name) == state:
            return
        self._job_states[name] = state
        where = job_id or "not submitted yet"
        message = f"{name} ({where}): {state}, {recordings} recording(s), age {job_age(age_s)}"
        self.emit("job", message, job=name, job_id=job_id, state=state, age_s=round(age_s))

    def upload_progress(
        self, name: str, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None:
        """One line per job when its uploads are over (none while they go: quiet logs)."""
        if files_done < files_total:
            return
        message = f"{name}: uploads done, {files_total} recording(s), {amount(bytes_done, bytes_total)}"
        self.emit("uploaded", message, job=name, files=files_total, bytes=bytes_total)

    def concurrency_changed(self, limit: int) -> None:
        # Ramp-ups are routine; a decrease means the service pushed back, which is worth a line.
        lowered = limit < self._limit
        self._limit = limit
        if lowered:
            self.emit("throttled", f"the service is throttling: concurrency lowered to {limit}", limit=limit)

    def summaries_status(self, message: str, *, phase: str) -> None:
        """A line when the summaries stage starts and one when it ends (not one per summary:
        failures and refusals have their own lines)."""
        if phase in ("start", "end"):
            self.emit("summaries", message)


def job_age(seconds: float) -> str:
    """A job's age as h:mm:ss."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def amount(done: int, total: int) -> str:
    """Bytes done of a total, in the total's unit: "1.2 of 3.4 GB", "0.5 of 12.0 MB"."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if total >= size:
            return f"{done / size:,.1f} of {total / size:,.1f} {unit}"
    return f"{done:,} of {total:,} bytes"


def _to_transcribe(files: int, found: int) -> str:
    found_text = f" of {found} found" if found and found != files else ""
    return f"{files} to transcribe{found_text}"


class LiveView:
    """A rich live display; use as a context manager around the run.

    The overall bar counts work honestly: audio a failed attempt had sent is added to both the
    done and the total amount when it is retried, so a retried file keeps the bar below 100%.
    "retrying" counts files waiting to try again (never left over at the end); "sessions" counts
    recognition sessions open now, not what the limiter would allow.
    """

    def __init__(self, console: Console, *, total_files: int, total_audio_s: float, found: int = 0) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._total_audio = max(total_audio_s, 0.001)
        self._planned_audio = total_audio_s  # grows while planning goes on (``planned``)
        self._overall = self._progress.add_task(_to_transcribe(total_files, found), total=self._total_audio,
                                                speed="")  # fmt: skip
        self._active: dict[str, tuple[TaskID, float]] = {}
        self._waiting: set[str] = set()  # retrying: between a failed attempt and the next one
        self._done_audio = 0.0
        self._redone_audio = 0.0  # audio sent by attempts that failed and were retried
        self._counts = {"done": 0, "failed": 0, "cancelled": 0}
        self._sessions: int | None = None  # open sessions, once the runner says (chunks count each)
        self._lock = threading.Lock()
        self._status = Text()
        self._jobs: dict[str, tuple[str, float]] = {}  # batch jobs at the service: state, age
        self._uploads: dict[str, tuple[TaskID, float]] = {}  # batch jobs uploading: line, start
        self._summaries = ""  # the summaries stage's status line, once it runs
        self._live = Live(Group(self._progress, self._status), console=console, refresh_per_second=4)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._refresh_status()
        self._live.__exit__(None, None, None)

    def planned(self, files: int, audio_seconds: float, found: int) -> None:
        """Planning goes on beside the run: the totals grow as files are found and probed."""
        with self._lock:
            self._total_audio = max(self._total_audio + audio_seconds - self._planned_audio, 0.001)
            self._planned_audio = audio_seconds
            self._progress.update(self._overall, description=_to_transcribe(files, found))
            self._advance_overall()

    def _refresh_status(self) -> None:
        c = self._counts
        parts = [f"done {c['done']}", f"failed {c['failed']}", f"retrying {len(self._waiting)}"]
        if c["cancelled"]:
            parts.append(f"cancelled {c['cancelled']}")
        sessions = len(self._active) - len(self._waiting) if self._sessions is None else self._sessions
        if self._jobs:  # --engine batch: each job's state and age instead of sessions
            parts += [f"{job}: {state} {job_age(age)}" for job, (state, age) in self._jobs.items()]
        else:
            parts.append(f"sessions {sessions}")
        summaries = f"\nsummaries: {shown(self._summaries)}" if self._summaries else ""
        self._status.plain = "  ".join(parts) + summaries

    def _advance_overall(self) -> None:
        partial = sum(done for _, done in self._active.values())
        elapsed = self._progress.tasks[self._overall].elapsed or 0.0
        completed = self._done_audio + self._redone_audio + partial
        speed = f"{(self._done_audio + partial) / elapsed:.1f}x" if elapsed > 1 else ""
        self._progress.update(
            self._overall, completed=completed, total=self._total_audio + self._redone_audio, speed=speed
        )

    def file_started(self, item: WorkItem, worker: int) -> None:
        with self._lock:
            if item.source in self._active:
                return
            task = self._progress.add_task(
                f"  {escape(shown(item.source))}", total=max(item.audio.duration_s, 0.001), speed=""
            )
            self._active[item.source] = (task, 0.0)
            self._refresh_status()

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        with self._lock:
            if item.source not in self._active:
                return
            self._waiting.discard(item.source)
            task, _ = self._active[item.source]
            done = min(audio_seconds, item.audio.duration_s)
            self._active[item.source] = (task, done)
            self._progress.update(task, completed=done)
            self._advance_overall()
            self._refresh_status()

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        with self._lock:
            entry = self._active.get(item.source)
            if entry is not None:  # what that attempt sent is sent again: more work, honestly
                self._redone_audio += entry[1]
                self._active[item.source] = (entry[0], 0.0)
                self._progress.update(entry[0], completed=0.0)
            self._waiting.add(item.source)
            self._advance_overall()
            self._refresh_status()
        self._console.print(
            Text(
                f"retrying {shown(item.source)}: attempt {attempt} failed: {shown(error.message)} "
                f"[{error.code}]",
                style="yellow",
            )
        )

    def file_finished(self, result: FileResult) -> None:
        with self._lock:
            entry = self._active.pop(result.source, None)
            self._waiting.discard(result.source)
            if entry is not None:
                self._progress.remove_task(entry[0])
            key = {"succeeded": "done", "failed": "failed", "cancelled": "cancelled"}[result.status]
            self._counts[key] += 1
            if result.status == "succeeded":
                self._done_audio += result.audio_seconds
            else:  # never sent in full: it leaves the total rather than holding the bar below 100%
                self._total_audio = max(self._total_audio - result.audio_seconds, 0.001)
            self._advance_overall()
            self._refresh_status()
        if result.status == "failed" and result.failure is not None:
            failed = f"failed {shown(result.source)}: {shown(result.failure.message)}"
            self._console.print(Text(failed, style="red"))

    def job_changed(self, name: str, job_id: str, state: str, age_s: float, recordings: int) -> None:
        with self._lock:
            job = f"job {name.rsplit(' ', 1)[-1]}"  # "batchscribe RUN job 3" -> "job 3"
            if state == "Collected":
                self._jobs.pop(job, None)
            else:
                self._jobs[job] = (state, age_s)
            self._refresh_status()

    def upload_progress(
        self, name: str, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None:
        """A line per job while its recordings go up: recordings and bytes, a bar over the bytes."""
        with self._lock:
            job = f"job {name.rsplit(' ', 1)[-1]}"
            entry = self._uploads.get(job)
            if files_done >= files_total:
                if entry is not None:
                    self._progress.remove_task(entry[0])
                    del self._uploads[job]
                return
            recordings = f"{files_done:,} of {files_total:,} recordings"
            description = f"  uploading {job}: {recordings}, {amount(bytes_done, bytes_total)}"
            if entry is None:
                task = self._progress.add_task(description, total=max(bytes_total, 1), speed="")
                entry = self._uploads[job] = (task, time.monotonic())
            elapsed = time.monotonic() - entry[1]
            speed = f"{bytes_done / elapsed / 1e6:.1f} MB/s" if elapsed > 1 else ""
            self._progress.update(entry[0], description=description, completed=bytes_done, speed=speed)

    def concurrency_changed(self, limit: int) -> None:
        pass  # the limiter's allowance is not what runs: the status shows open sessions

    def sessions_open(self, count: int) -> None:
        with self._lock:
            self._sessions = count
            self._refresh_status()

    def summaries_status(self, message: str, *, phase: str) -> None:
        """After the transcripts: what the summaries stage is doing, under the counts."""
        with self._lock:
            self._summaries = "" if phase == "end" else message  # the closing summary says the rest
            self._refresh_status()
