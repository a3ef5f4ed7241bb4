"""Writing to a terminal that may go away: after a hangup (the ssh session closed) every write
to it fails with EIO, and a run must still finish, write its summary and report, and exit with
its own code. ``TerminalStream("stdout")`` (or ``"stderr"``) stands for ``sys.stdout`` for a rich
``Console``, looked up at each write as a Console does (tests swap it): the first failed write
sends the rest of the stream to /dev/null.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, Any, Literal


class TerminalStream:
    """``sys.stdout`` or ``sys.stderr``, until a write to it fails (EIO, a closed pipe); then
    nothing, quietly."""

    def __init__(self, name: Literal["stdout", "stderr"]) -> None:
        self._name = name
        self.gone = False

    @property
    def _stream(self) -> IO[str]:
        stream: IO[str] = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self._went_away()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._went_away()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding... as the stream has them
        return getattr(self._stream, name)

    def _went_away(self) -> None:
        """From now on its descriptor writes to /dev/null, so no later flush (at exit) fails."""
        self.gone = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
