"""What a run may still spend (``Budget``), what writing a file gives back (``Written``), and what
the runner hands back at the end (``RunOutcome``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from batchscribe.engines.base import Transcript
from batchscribe.errors import BatchscribeError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult, FileTally


@dataclass(frozen=True)
class Written:
    outputs: tuple[Path, ...]  # JSON last: its presence marks the file complete
    sha256: str
    warnings: tuple[str, ...] = ()
    average_confidence: float | None = None


WriteOutputs = Callable[[WorkItem, Transcript, int, float], Written]
"""(item, transcript, attempts, elapsed_s) -> what was written."""


@dataclass
class Budget:
    """Audio seconds that may still be scheduled, and until when."""

    audio_seconds: float | None = None
    deadline: float | None = None  # monotonic time after which nothing new starts
    hard_deadline: float | None = None  # monotonic time at which in-flight files are cancelled
    scheduled: float = 0.0
    exceeded: str = ""

    def admit_seconds(self, seconds: float, now: float) -> bool:
        if self.deadline is not None and now >= self.deadline:
            self.exceeded = self.exceeded or "the --max-runtime window ended"
            return False
        if self.audio_seconds is not None and self.scheduled + seconds > self.audio_seconds:
            self.exceeded = self.exceeded or "the audio-hours/cost budget was reached"
            return False
        self.scheduled += seconds
        return True


@dataclass
class RunOutcome:
    tally: FileTally = field(default_factory=FileTally)  # every finished file counted, few kept
    not_scheduled: list[WorkItem] = field(default_factory=list)
    changed: list[WorkItem] = field(default_factory=list)
    aborted: BatchscribeError | None = None
    stop_reason: str = ""
    peak_sessions: int = 0
    sent_seconds: float = 0.0  # audio of the sessions that succeeded (chunks too): what was paid for

    @property
    def results(self) -> list[FileResult]:
        """The finished files' results kept (all of them in a small run), by source."""
        return list(self.tally.files)
