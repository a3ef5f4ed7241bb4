"""The summaries stage of a run (``--summarize``): after the transcripts, every recording of the
run's inputs whose transcript is done gets its summary, unless it has one for this transcript,
prompt and deployment (``document.decide``). No audio is read or sent here: a folder transcribed
earlier gets its summaries with ``run --summarize`` alone.

Requests go out on ``WORKERS`` threads. ``--max-cost`` counts the tokens: before each summary its
cost is estimated and reserved from what the transcription left of the budget, and once that is
spent the rest is left for the next run (``not_scheduled``). A refusal by the content filter is a
warning, recorded in the summary JSON; credentials rejected (or no such deployment) stop the
summaries for the run with one line, the transcripts being done already.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import RunSettings
from batchscribe.config.summaries import SummaryOptions
from batchscribe.errors import SummariesStopped, SummaryError, SummaryRefused
from batchscribe.names import shown, stored
from batchscribe.outputs.azure_json import read_transcript_document
from batchscribe.state.ledger import Ledger
from batchscribe.summaries import document
from batchscribe.summaries.client import ChatClient, Sleep
from batchscribe.summaries.document import Stamp, SummaryPaths
from batchscribe.summaries.prompt import ANSWER_TOKENS, estimate_tokens, text_sha256, transcript_text
from batchscribe.summaries.summarize import Spent, summarize_text
from batchscribe.summary_digest import (
    MAX_ROWS,
    Status,
    SummaryDigest,
    SummaryRow,
    count_topics,
    one_line,
    top_topics,
)

log = logging.getLogger(__name__)
WORKERS = 4


@dataclass(frozen=True)
class Due:
    """A recording whose summary is due."""

    source: str
    paths: SummaryPaths
    stamp: Stamp
    text: _TranscriptText  # read by the request's thread, at most once
    why: str


@dataclass
class _Tally:
    """The stage's counts, shared by the request threads (under ``lock``)."""

    options: SummaryOptions
    limit: float | None  # what may still be spent, None: no --max-cost
    lock: threading.Lock = field(default_factory=threading.Lock)
    made: int = 0
    unchanged: int = 0
    refused: int = 0
    failed: int = 0
    not_scheduled: int = 0
    stopped: str = ""
    stop_reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    reserved: float = 0.0
    rows: list[SummaryRow] = field(default_factory=list)
    topics: Counter[str] = field(default_factory=Counter)
    status: Status | None = None

    def counts(self) -> str:
        with self.lock:
            parts = [f"{self.made} made", f"{self.unchanged} unchanged", f"{self.refused} refused",
                     f"{self.failed} failed"]  # fmt: skip
            if self.not_scheduled:
                parts.append(f"{self.not_scheduled} left for the next run")
        return ", ".join(parts)

    def tell(self, message: str, phase: str) -> None:
        if self.status is not None:
            self.status(message, phase=phase)

    def cost_of(self, tokens: int) -> float:
        return tokens / 1000 * self.options.price_per_1k_tokens

    def skip(self, reason: str = "", *, count: int = 1) -> None:
        """``count`` summaries left for the next run, and why (the first reason given stays)."""
        with self.lock:
            self.not_scheduled += count
            self.stop_reason = self.stop_reason or reason

    def reserve(self, estimate: float) -> bool:
        with self.lock:
            if self.limit is not None and self.cost + self.reserved + estimate > self.limit:
                self.not_scheduled += 1
                self.stop_reason = self.stop_reason or "the --max-cost budget was reached"
                return False
            self.reserved += estimate
            return True

    def spent(self, estimate: float, spent: Spent) -> float:
        cost = self.cost_of(spent.total_tokens)
        with self.lock:
            self.reserved -= estimate
            self.prompt_tokens += spent.prompt_tokens
            self.completion_tokens += spent.completion_tokens
            self.cost += cost
        return cost

    def add(self, row: SummaryRow) -> None:
        with self.lock:
            if row.status in ("done", "empty"):
                self.made += 1
            elif row.status == "refused":
                self.refused += 1
            else:
                self.failed += 1
            count_topics(self.topics, row.topics)
            if len(self.rows) < MAX_ROWS:
                self.rows.append(row)
        self.tell(self.counts(), "progress")

    def digest(self) -> SummaryDigest:
        return SummaryDigest(
            deployment=self.options.deployment, made=self.made, unchanged=self.unchanged,
            refused=self.refused, failed=self.failed, not_scheduled=self.not_scheduled,
            stopped=self.stopped, stop_reason=self.stop_reason, prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens, cost=round(self.cost, 6),
            price_per_1k_tokens=self.options.price_per_1k_tokens,
            rows=tuple(sorted(self.rows, key=lambda r: r.source)), topics=top_topics(self.topics),
        )  # fmt: skip


def summarize_run(
    settings: RunSettings,
    ledger: Ledger,
    sources: Iterable[str],
    *,
    endpoint: str = "",
    spent_so_far: float = 0.0,
    run_id: str = "",
    cancel: CancelToken | None = None,
    credential: TokenSource | None = None,
    sleep: Sleep | None = None,
    deadline: float | None = None,
    status: Status | None = None,
) -> SummaryDigest | None:
    """Summarize every done transcript of the run's inputs that needs it (None without
    ``--summarize``). ``sources``: the recordings of the run's inputs, as the run walks them;
    ``endpoint``: the emulator's REST side under ``--emulate``; ``spent_so_far``: the
    transcription's estimated cost, counted against ``--max-cost``; ``deadline``: the
    ``--max-runtime`` window's end (``time.monotonic``), after which no summary starts; ``status``:
    told when the stage starts, after each summary, and when it ends (the progress display)."""
    options = settings.summaries
    if options is None:
        return None
    cancel = cancel or CancelToken()
    limit = None if settings.max_cost is None else max(0.0, settings.max_cost - spent_so_far)
    tally = _Tally(options, limit, status=status)
    tally.tell(f"asking {options.deployment} for each transcript without a current summary", "start")
    client = ChatClient(options, endpoint=endpoint, credential=credential, cancel=cancel, sleep=sleep)
    stop = threading.Event()
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="batchscribe-summary") as pool:
            running: set[Future[None]] = set()
            for due in _due(settings, ledger, sources, options, tally):
                if cancel.is_cancelled():
                    tally.skip("the run was interrupted")
                    break  # Ctrl-C: not even counted further
                if stop.is_set():
                    tally.skip()
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    tally.skip("the --max-runtime window ended")
                    continue
                running.add(pool.submit(_guarded, client, due, tally, stop, run_id))
                if len(running) >= 2 * WORKERS:
                    running = wait(running, return_when=FIRST_COMPLETED).not_done
    finally:
        client.close()
    if cancel.is_cancelled() and tally.not_scheduled:
        tally.skip("the run was interrupted", count=0)
    tally.tell(f"done: {tally.counts()}", "end")
    return tally.digest()


def _due(
    settings: RunSettings, ledger: Ledger, sources: Iterable[str], options: SummaryOptions, tally: _Tally
) -> Iterator[Due]:
    """The recordings whose summary is due, as the inputs are walked (the transcripts done only)."""
    for source in sources:
        row = ledger.row(stored(source))
        if row is None or row.status != "succeeded":
            continue
        paths = SummaryPaths.of(settings.out, source)
        try:
            stamp = Stamp.of(paths.transcript)
        except OSError:
            continue  # no transcript on disk (deleted by hand): the transcription plan redoes it
        too_long = _name_too_long(paths)
        if too_long:
            log.warning("%s: summary failed: %s", shown(source), too_long)
            tally.add(SummaryRow(source, "failed", reason=too_long, code="name_too_long"))
            continue  # found before anything is sent: never paid for night after night
        text = _TranscriptText(paths.transcript)
        try:
            existing = document.read_summary(paths.json)
            decision = document.decide(
                existing, stamp, prompt_sha256=options.prompt_sha256,
                deployment=options.deployment, text_sha256=lambda t=text: text_sha256(t()),  # type: ignore[misc]
            )  # fmt: skip
            if not decision.due and existing is not None:
                document.restore_markdown(paths, existing)  # edited or deleted by hand: free to redo
                with tally.lock:
                    tally.unchanged += 1
                continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            tally.add(_unreadable(source, exc))
            continue
        yield Due(source, paths, stamp, text, decision.why)


def _name_too_long(paths: SummaryPaths) -> str:
    """Why the summary files cannot be named beside the transcript, or "" when they can."""
    try:
        limit = os.pathconf(paths.json.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no answer
        limit = 255
    longest = max(len(os.fsencode(paths.json.name)), len(os.fsencode(paths.markdown.name)))
    if longest <= limit:
        return ""
    return (
        f"its summary's file name would be {longest} bytes, over the file system's {limit}: "
        f"shorten the recording's name (the summary adds {len('.summary.json')} bytes to it)"
    )


def _unreadable(source: str, exc: Exception) -> SummaryRow:
    return SummaryRow(
        source, "failed", reason=f"cannot read the transcript: {exc}", code="unreadable_transcript"
    )


class _TranscriptText:
    """A transcript's text, read once and only when needed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._text: str | None = None

    def __call__(self) -> str:
        if self._text is None:
            self._text = transcript_text(read_transcript_document(self._path))
        return self._text


def _guarded(client: ChatClient, due: Due, tally: _Tally, stop: threading.Event, run_id: str) -> None:
    """``_one``, and an unexpected error a failed summary with its reason: never lost in the pool
    (nobody reads the futures' results), never counted as nothing."""
    try:
        _one(client, due, tally, stop, run_id)
    except Exception as exc:  # a bug must still be a counted, reported failure
        log.error("%s: summary failed: %r", shown(due.source), exc, exc_info=True)
        tally.add(SummaryRow(due.source, "failed", reason=f"internal error: {exc!r}", code="internal_error"))


def _one(client: ChatClient, due: Due, tally: _Tally, stop: threading.Event, run_id: str) -> None:
    """One recording's summary, written; every outcome is a row (never raises)."""
    options = client.options
    started = time.monotonic()

    try:
        text = due.text()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        tally.add(_unreadable(due.source, exc))
        return

    def record(status: document.Status, spent: Spent, cost: float, *, answer: dict[str, object] | None = None,
               parts: int = 0, warning: str = "", code: str = "") -> None:  # fmt: skip
        doc = document.build(
            source=due.source, status=status, answer=answer or {}, text_sha256=text_sha256(text),
            stamp=due.stamp, deployment=options.deployment, model=spent.model,
            prompt_sha256=options.prompt_sha256, tokens=_tokens(spent), cost=cost,
            price_per_1k_tokens=options.price_per_1k_tokens, parts=parts,
            elapsed_s=time.monotonic() - started, run_id=run_id, warning=warning,
        )  # fmt: skip
        _write(due, tally, doc, reason=warning, code=code)

    if not text.strip():
        record("empty", Spent(), 0.0)
        return
    estimate = tally.cost_of(estimate_tokens(options.prompt + text) + ANSWER_TOKENS)
    if stop.is_set():
        tally.skip()
        return
    if not tally.reserve(estimate):
        return
    spent = Spent()
    try:
        made = summarize_text(client, text, spent=spent)
    except SummaryRefused as exc:
        warning = client.mask(exc.message)
        log.warning("%s: no summary: %s", shown(due.source), warning)
        record("refused", spent, tally.spent(estimate, spent), warning=warning, code=exc.code)
        return
    except SummaryError as exc:
        tally.spent(estimate, spent)
        _failed(client, due, tally, stop, exc, spent)
        return
    record("done", spent, tally.spent(estimate, spent), answer=made.answer.as_dict(), parts=made.parts)


def _failed(client: ChatClient, due: Due, tally: _Tally, stop: threading.Event, exc: SummaryError,
            spent: Spent) -> None:  # fmt: skip
    if isinstance(exc, SummariesStopped):
        line = client.mask(exc.one_line())
        with tally.lock:
            first = not tally.stopped
            tally.stopped = tally.stopped or line
        tally.skip()
        stop.set()
        if first:
            log.error("summaries stopped for this run: %s", line)
        return
    if exc.code == "cancelled":
        tally.skip("the run was interrupted")
        return
    reason = client.mask(exc.message)
    log.warning("%s: summary failed: %s", shown(due.source), reason)
    tally.add(SummaryRow(due.source, "failed", reason=reason, code=exc.code, tokens=spent.total_tokens))


def _write(due: Due, tally: _Tally, doc: dict[str, Any], *, reason: str = "", code: str = "") -> None:
    try:
        document.write(due.paths, doc)
    except OSError as exc:
        tally.add(SummaryRow(due.source, "failed", reason=f"cannot write {shown(due.paths.json.name)}: "
                             f"{exc.strerror or exc}", code="write_failed"))  # fmt: skip
        return
    tally.add(SummaryRow(
        due.source, doc["status"], one_line=one_line(str(doc["summary"])),
        action_items=tuple(doc["action_items"]), topics=tuple(doc["topics"]),
        tokens=int(doc["tokens"]["total"]), reason=reason, code=code,
    ))  # fmt: skip


def _tokens(spent: Spent) -> dict[str, int]:
    return {"prompt": spent.prompt_tokens, "completion": spent.completion_tokens, "total": spent.total_tokens,
            "requests": spent.requests}  # fmt: skip
