"""The output folder's layout, in one place: where outputs, state and run reports go.

::

    <out>/calls/a.mp3.json  .txt .srt .vtt    one recording's outputs: the input tree mirrored,
                                              the source's extension kept (a.mp3, a.wav never collide)
    <out>/_state/ledger.sqlite  run.lock      what was done, and the run lock
    <out>/_runs/<run_id>/                     one run's report (summary.json, summary.md, report.html)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

STATE_DIR = "_state"
RUNS_DIR = "_runs"
KEEP_RUNS = 60  # run folders kept under RUNS_DIR (--keep-runs)
LEDGER_FILE = "ledger.sqlite"
LOCK_FILE = "run.lock"
FORMATS = ("txt", "srt", "vtt", "json")  # the writing order: json, the completion marker, last


@dataclass(frozen=True)
class OutFolder:
    """Paths inside one output folder (nothing is created here)."""

    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / LEDGER_FILE

    @property
    def lock_path(self) -> Path:
        return self.state_dir / LOCK_FILE

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def run_dir(self, run_id: str) -> Path:
        """The report folder of run ``run_id``; refuses an id that is not a plain folder name."""
        if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
            raise ValueError(f"a run id must be a plain folder name, got {run_id!r}")
        return self.runs_dir / run_id

    def contains(self, path: Path) -> bool:
        """Whether ``path`` is (or, once its missing folders are made, will be) inside the root,
        symlinks resolved: a symlinked folder under the root pointing elsewhere is outside."""
        existing = path
        while not os.path.lexists(existing) and existing != existing.parent:
            existing = existing.parent
        if self.root.is_relative_to(existing):  # nothing below the root exists yet
            return True
        return existing.resolve().is_relative_to(self.root.resolve())

    def output_paths(self, source: str, formats: Sequence[str]) -> tuple[Path, ...]:
        """Where the given formats of ``source`` go, in writing order; duplicates are ignored."""
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown:
            raise ValueError(f"unknown output format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
        base = self.root.joinpath(*_safe_parts(source))
        return tuple(base.with_name(f"{base.name}.{fmt}") for fmt in FORMATS if fmt in formats)


def _safe_parts(source: str) -> tuple[str, ...]:
    """The parts of a relative source path; refuses anything that could escape the folder."""
    path = PurePosixPath(source)
    parts = tuple(p for p in path.parts if p != ".")
    escapes = path.is_absolute() or ".." in parts
    if os.name == "nt":  # there a backslash separates too, and a drive makes a path absolute
        windows = PureWindowsPath(source)
        escapes = escapes or bool(windows.anchor) or ".." in windows.parts
    if escapes or not parts:
        raise ValueError(f"source must be a path relative to its scanned root, got {source!r}")
    return parts
