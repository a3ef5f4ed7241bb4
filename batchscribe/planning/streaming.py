"""Plan while the run goes on, so the first session starts at once whatever the folder's size.

``PlanFeed`` runs in its own thread beside the ``Runner``: it walks the inputs
(``discovery.walk``, no overall sort), decides each file as the planner does (``planner.classify``,
one ledger row looked up at a time), applies what is not transcribing right away (adopt a
transcript found on disk, remember a new stat or a checked JSON stamp, render missing outputs
from the JSON), and probes the due files in batches of ``BATCH`` on ``PROBE_THREADS`` threads,
feeding each batch to the runner's queue. Nothing per file is kept beyond the batch in hand:
counts are counters, known failures (a report row each) the only list.

Scheduling stays longest first where it is cheap: the runner's queue is a priority queue that
planned items join, so the longest of everything planned and not started goes next. Planning is
far faster than transcribing, so the queue soon holds many files; it is capped at ``AHEAD``
entries (planning waits for room), which bounds memory, and a long recording found late still
runs early within that window (long ones are split into chunks of at most ten minutes anyway, so
a late one costs the run at most about one chunk). The first batch starts the run: its longest
files go first, before the rest of the folder is known.

``batchscribe plan`` does not stream: it is ``planner.plan_run``, complete and sorted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from batchscribe.config.settings import RunSettings
from batchscribe.names import stored
from batchscribe.outputs.atomic import remove_stale_temp_files
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.rerender import rerender_outputs
from batchscribe.planning.discovery import AudioFile, Walk, walk
from batchscribe.planning.planner import (
    Decided,
    WorkItem,
    classify,
    is_due,
    is_settled,
    known_failure,
    planned_counts,
    probe_one,
    settled_before_ns,
    unlisted_failure,
)
from batchscribe.results import FileResult, KnownFailure, RunCounts
from batchscribe.state.ledger import Ledger

log = logging.getLogger(__name__)
BATCH = 64  # files probed together, then fed to the runner at once
AHEAD = 2000  # queued entries at most: planning waits for room beyond this
PROBE_THREADS = 4


@dataclass
class FeedTarget:
    """Where planned work goes (the runner, through ``batch.run_batch``)."""

    feed: Callable[[Sequence[WorkItem]], bool]  # queue items; False: the run stopped, plan no more
    unsent: Callable[[FileResult], None]  # a file that cannot be sent at all (not audio, unreadable)
    grew: Callable[[int, float, int], None]  # (files to transcribe, their audio seconds, found) so far
    stopped: Callable[[], bool]  # the run was cancelled or aborted


@dataclass
class PlanFeed:
    """Plans a run into ``target`` (call ``run`` in a thread); ``counts`` etc. are final after it."""

    settings: RunSettings
    ledger: Ledger
    wanted_hash: str
    now: datetime
    target: FeedTarget
    tally: Counter[str] = field(default_factory=Counter)
    known_failures: list[KnownFailure] = field(default_factory=list)
    discovered: int = 0
    not_settled: int = 0
    due: int = 0  # probed and fed
    audio_seconds: float = 0.0  # of the files fed
    _cleared: set[Path] = field(default_factory=set)  # output folders cleared of a killed run's temp files

    @property
    def counts(self) -> RunCounts:
        return planned_counts(self.tally, discovered=self.discovered, not_settled=self.not_settled)

    def run(self) -> None:
        log.debug("planning: looking for recordings under %d input(s)", len(self.settings.inputs))
        walked = Walk()
        settled_before = settled_before_ns(self.settings, self.now)
        pending: list[AudioFile] = []
        with ThreadPoolExecutor(PROBE_THREADS, thread_name_prefix="batchscribe-probe") as probes:
            for file in walk(self.settings.inputs, walked, include=self.settings.include,
                             exclude=self.settings.exclude):  # fmt: skip
                if self.target.stopped():
                    return
                self.discovered += 1
                if not is_settled(file, settled_before, self.now):
                    self.not_settled += 1
                    continue
                if self._decide(file):
                    pending.append(file)
                if len(pending) >= BATCH and not self._flush(pending, probes):
                    return
            for source, path, why in walked.unreadable:
                self.target.unsent(unlisted_failure(source, path, why))
            self._flush(pending, probes)

    def _decide(self, file: AudioFile) -> bool:
        """Decide one file and do what is not transcribing; True when it is due."""
        self._clear_folder(file)
        row = self.ledger.row(stored(file.source))
        decided = classify(file, row, self.settings, self.wanted_hash)
        self._apply(file, decided)
        self.tally[decided.decision] += 1
        if decided.decision == "known_failure" and row is not None:
            self.known_failures.append(known_failure(file, row))
            return False
        if decided.decision == "rerender":
            if self._rerendered(file):
                return False
            # The JSON turned out to be unusable: its recording is due again (changed).
            self.tally["rerender"] -= 1
            self.tally["changed"] += 1
            return not self.settings.retry_failed_only
        return is_due(decided.decision, self.settings)

    def _apply(self, file: AudioFile, decided: Decided) -> None:
        if (found := decided.adopt) is not None:
            self.ledger.adopt(file.source, file.path, size=file.size, mtime_ns=file.mtime_ns,
                              sha256=found.sha256, settings=self.wanted_hash, outputs=found.outputs,
                              run_id="adopted")  # fmt: skip
        if decided.restat:
            self.ledger.touch(file.source, size=file.size, mtime_ns=file.mtime_ns)
        if decided.stamp:
            self.ledger.stamp(file.source, decided.stamp)

    def _clear_folder(self, file: AudioFile) -> None:
        """A killed run's half-written files in this file's output folder, removed before this
        run writes there (nothing of this folder is queued yet when its first file is seen)."""
        layout = OutFolder(self.settings.out)
        folder = layout.output_paths(file.source, ("json",))[0].parent
        if folder not in self._cleared:
            self._cleared.add(folder)
            if layout.contains(folder):
                remove_stale_temp_files([folder])

    def _rerendered(self, file: AudioFile) -> bool:
        """Render the missing outputs from the JSON; False when that JSON turns out to be unusable."""
        try:
            rerender_outputs(self.settings.out, file.source, self.settings.formats,
                             timestamps=self.settings.timestamps)  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return True

    def _flush(self, pending: list[AudioFile], probes: ThreadPoolExecutor) -> bool:
        """Probe the pending files and feed them; False when the run stopped meanwhile."""
        if not pending:
            return True
        items: list[WorkItem] = []
        for probed in probes.map(self._probe, pending):
            if isinstance(probed, WorkItem):
                items.append(probed)
            elif probed is not None:
                self.target.unsent(probed)
        pending.clear()
        self.due += len(items)
        self.audio_seconds += sum(i.audio.duration_s for i in items)
        self.target.grew(self.due, self.audio_seconds, self.discovered)
        return self.target.feed(items) if items else not self.target.stopped()

    def _probe(self, file: AudioFile) -> WorkItem | FileResult | None:
        return None if self.target.stopped() else probe_one(file, self.settings)  # Ctrl-C: stop at once
