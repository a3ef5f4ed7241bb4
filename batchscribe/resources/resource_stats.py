"""One Speech resource's share of a run (``Rotation.stats``), for the summary and the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

State = Literal["healthy", "quarantined", "probing", "disabled"]


@dataclass(frozen=True)
class ResourceStats:
    """One resource's share of the run, for the summary and the report."""

    name: str
    state: State
    sessions: int
    audio_seconds: float
    throttled: int
    failures: Mapping[str, int]
    quarantines: int
    quarantined_s: float  # out of the rotation (quarantine, probing, disabled)
    reasons: tuple[str, ...]  # why it left the rotation, each distinct reason once
    peak_active: int
    limit: int

    def describe(self) -> str:
        failed = sum(self.failures.values())
        text = (
            f"{self.name}: {self.sessions} sessions, {self.audio_seconds / 3600:.2f} h of audio, "
            f"{self.throttled} throttled, {failed} failed, at most {self.peak_active} at once"
        )
        if self.quarantines or self.state == "disabled":
            text += f"; out of rotation {self.quarantined_s:.0f} s ({'; '.join(self.reasons)})"
        return text
