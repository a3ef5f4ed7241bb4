"""``Origin``: where a spec's fields were given (the command line, or a job of the jobs file), so
every error names its source the way the user wrote it. ``resolve.CommandLine`` and
``jobs.JobOrigin`` implement it; ``resolve`` and ``summaries`` take it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from batchscribe.errors import UsageError


class Origin(Protocol):
    """Where a spec's fields were given."""

    @property
    def job(self) -> str:
        """The job's name; "" for a one-off run from the command line."""
        ...

    def where(self, field: str | None = None) -> str:
        """``--workers``, ``jobs.yaml:12: jobs.calls.workers``, or "" when there is nothing to name."""
        ...

    def spell(self, field: str) -> str:
        """How the user writes ``field`` there, for a fix: ``--key-file`` or ``key_file``."""
        ...

    def example(self, field: str, value: str) -> str:
        """``field`` set to ``value`` as the user writes it there: ``--region westeurope`` or
        ``region: westeurope``."""
        ...

    def path(self, field: str, value: str) -> Path:
        """A path given in ``field``, resolved where it was given."""
        ...

    def error(self, field: str | None, message: str, hint: str) -> UsageError:
        """An error about ``field``, named by where it was given."""
        ...
