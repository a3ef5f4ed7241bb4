"""How far one batch job's uploads are, told to whoever watches (``events.UploadEvents``).

``JobDriver.flush`` uploads a job's recordings in a pool; each upload reports the bytes it has
sent (``file_hook``: azure-storage-blob's ``progress_hook`` gives (current, total), scaled here
to the recording's size, since a converted recording sends other bytes than it holds) and ends
with ``finished`` (sent, already in the container, or failed: done with either way). The sink
hears recordings and bytes done of the job's totals at most every ``EVERY_S`` seconds (the live
view refreshes four times a second), and once more at the end, with the totals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from batchscribe.engines.jobs import UploadHook
from batchscribe.running.events import RunEvents, UploadEvents

EVERY_S = 0.25


class UploadProgress:
    """One job's upload progress; the hooks are called from the upload threads."""

    def __init__(
        self,
        name: str,
        sizes: Sequence[int],
        sink: RunEvents,
        *,
        clock: Callable[[], float] = time.monotonic,
        every_s: float | None = None,
    ) -> None:
        self._name = name
        self._sizes = [max(0, s) for s in sizes]
        self._total = sum(self._sizes)
        self._sent = [0] * len(sizes)
        self._finished = [False] * len(sizes)
        self._files_done = 0
        self._bytes_done = 0
        self._sink = sink if isinstance(sink, UploadEvents) else None
        self._clock = clock
        self._every_s = EVERY_S if every_s is None else every_s
        self._told_at: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Nothing sent yet: the line shows up before the first upload is over."""
        with self._lock:
            self._tell(force=True)

    def file_hook(self, index: int) -> UploadHook:
        """The ``progress_hook`` of the ``index``-th recording's upload."""

        def hook(current: int, total: int | None) -> None:
            size = self._sizes[index]
            sent = size if not total else min(size, size * max(current, 0) // total)
            with self._lock:
                if self._finished[index] or sent <= self._sent[index]:
                    return  # concurrent blocks may report out of order: never backwards
                self._bytes_done += sent - self._sent[index]
                self._sent[index] = sent
                self._tell(force=False)

        return hook

    def finished(self, index: int) -> None:
        """The recording's upload is over (sent, already there, or failed): all its bytes done."""
        with self._lock:
            if self._finished[index]:
                return
            self._finished[index] = True
            self._files_done += 1
            self._bytes_done += self._sizes[index] - self._sent[index]
            self._sent[index] = self._sizes[index]
            self._tell(force=self._files_done == len(self._sizes))

    def _tell(self, *, force: bool) -> None:
        now = self._clock()
        if self._sink is None or (
            not force and self._told_at is not None and now - self._told_at < self._every_s
        ):
            return
        self._told_at = now
        self._sink.upload_progress(
            self._name, self._files_done, len(self._sizes), self._bytes_done, self._total
        )
