"""Long recordings as chunks: each chunk its own session, queued longest first with everything else.

``split_items`` (the ``Runner``'s splitter) plans each recording (``running.split_plan``): one long
enough to be worth several sessions becomes a ``ReadTask``, anything else stays a whole-file item
(with ``--diarize`` too: speakers would not match across sessions, so it runs as one and its
result says so). A ``ReadTask`` reads each track once (``audio.read_track``: the mixed-down
recording, or each channel with ``--channels separate``), finds the cut points in pauses as the
audio goes by (``audio.silence.CutFinder``) and queues a ``ChunkTask`` for each chunk as soon as
its end has been read, so the first chunks are in sessions while the rest is still decoding.

A chunk is retried alone; once finished it is saved (``ChunkStore``, atomic) before its worker
takes anything else. A recording with saved chunks for the same content (size, mtime, then the
SHA-256 of this run's read) and the same transcript settings reuses their cut points and sends only
the chunks not saved. When its last chunk is in, ``SplitRecording`` stitches the chunks into one
transcript (``engines.stitch``) with the chunks' spans and attempts, and hands it to the runner's
writer like any transcript; the saved chunks are then removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from batchscribe import audio
from batchscribe.audio.chunk_plan import ChunkPlan
from batchscribe.audio.silence import CutFinder
from batchscribe.engines.base import ChunkRecord, Phrase, RecognitionRequest, Transcript
from batchscribe.engines.stitch import ChunkTranscript, stitch
from batchscribe.errors import FileError, RunAbortedError
from batchscribe.planning.planner import WorkItem
from batchscribe.results import Attempt, FileResult
from batchscribe.running.split_plan import SplitOptions, chunk_plan
from batchscribe.running.tasks import Entry, TaskHost
from batchscribe.state.chunk_store import Manifest, SavedChunk

log = logging.getLogger(__name__)
TICKS_PER_SAMPLE = 10_000_000 // audio.SAMPLE_RATE


def split_items(
    items: Sequence[WorkItem], workers: int, options: SplitOptions, *, total_audio_s: float | None = None
) -> list[Entry]:
    """The runner's queue: long recordings as ``ReadTask``s, the rest as they are. ``total_audio_s``:
    the run's audio when ``items`` are not all of it (planned so far, when planning streams)."""
    total = sum(i.audio.duration_s for i in items) if total_audio_s is None else total_audio_s
    entries: list[Entry] = []
    for item in items:
        plan = chunk_plan(item, options, workers=workers, total_audio_s=total)
        over_limit = options.part_seconds is not None and plan.split
        cut = over_limit or (options.split and plan.split and not options.diarize)
        entries.append(ReadTask(SplitRecording(item, plan, options)) if cut else item)
    return entries


@dataclass(frozen=True)
class ReadTask:
    """Read a long recording's tracks once, queueing its chunks as their ends are read."""

    recording: SplitRecording

    @property
    def item(self) -> WorkItem:
        return self.recording.item

    @property
    def priority_seconds(self) -> float:
        return self.item.audio.duration_s + 1.0  # before anything: its chunks wait for it

    budget_seconds = 0.0  # sends nothing itself
    adds_tasks = True

    def run(self, runner: TaskHost, worker: int) -> FileResult | None:
        try:
            return self.recording.read(runner, worker)
        finally:
            runner.done_adding()


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of one track: samples ``[start, end)`` of it, in its own session."""

    recording: SplitRecording
    track: str
    channel: int | None
    index: int
    start: int
    end: int
    pcm: audio.PcmRange = field(repr=False)

    @property
    def item(self) -> WorkItem:
        return self.recording.item

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / audio.SAMPLE_RATE

    priority_seconds = seconds
    budget_seconds = seconds
    adds_tasks = False

    @property
    def label(self) -> str:
        """``chunk 3`` (counted from 1), ``ch1 chunk 3`` when channels are sent apart."""
        return f"chunk {self.index + 1}" if self.track == "mix" else f"{self.track} chunk {self.index + 1}"

    def run(self, runner: TaskHost, worker: int) -> FileResult | None:
        return self.recording.run_chunk(self, runner, worker)


def _tracks(item: WorkItem, options: SplitOptions) -> list[tuple[str, int | None]]:
    if options.channels == "separate" and item.audio.channels > 1:
        return [(f"ch{k}", k) for k in range(item.audio.channels)]
    return [("mix", None)]


@dataclass
class _Done:
    start: int
    end: int
    attempts: int
    transcript: Transcript


class SplitRecording:
    """One recording run as chunks: its read, its chunks' results, and its stitched transcript."""

    def __init__(self, item: WorkItem, plan: ChunkPlan, options: SplitOptions) -> None:
        self.item = item
        self.plan = plan
        self.options = options
        self._lock = threading.Lock()
        self._tracks = _tracks(item, options)
        self._chunks: dict[str, int] = {}  # chunks per track, once its read is over
        self._done: dict[tuple[str, int], _Done] = {}
        self._running: dict[tuple[str, int], float] = {}  # audio seconds done by chunks in flight
        self._receipts: list[audio.ReadReceipt] = []  # of the tracks' reads
        self._chunk_receipts: list[audio.ReadReceipt | None] = []
        self._warnings: list[str] = []
        self._timeline: list[Attempt] = []
        self._started = 0.0
        self._settled = False  # a result was given (or it was left for the next run)
        # The read is over and its manifest written: only then may the last chunk to finish
        # assemble the recording (and discard its folder, which the manifest is written into).
        self._read_over = False

    @property
    def source(self) -> str:
        return self.item.source

    # -- the read -------------------------------------------------------------------------------

    def read(self, runner: TaskHost, worker: int) -> FileResult | None:
        item, store = self.item, self.options.store
        if not runner.unchanged(item):
            self._settle()
            runner.changed(item)
            return None
        self._started = runner.now()
        runner.events.file_started(item, worker)
        saved = self._resumable(store.manifest(self.source))
        if saved is None:
            store.discard(self.source)
        try:
            manifest = Manifest(self.source, "", self.options.settings_hash)
            for track, channel in self._tracks:
                manifest.tracks[track] = self._read_track(runner, track, channel, saved)
            receipt = audio.combine_receipts(list(self._receipts))
            manifest.sha256 = receipt.sha256 if receipt else ""
            why = receipt.change(size=item.file.size, mtime_ns=item.file.mtime_ns) if receipt else "unread"
            if not why and saved is not None and saved.sha256 != manifest.sha256:
                why = "its content differs from the chunks saved by an earlier run"
            if not why and saved is not None and any(saved.tracks[t]["samples"] != info["samples"]
                                                     for t, info in manifest.tracks.items()):  # fmt: skip
                why = "the chunks saved by an earlier run do not tile it; they were discarded"
            if why:
                store.discard(self.source)
                if self._settle():
                    runner.changed(item, why)
                return None
            store.write_manifest(manifest)
            with self._lock:
                self._read_over = True
        except OSError as exc:
            return self._fail(runner, store.spool_error(self.source, exc))
        except (FileError, RunAbortedError) as exc:
            return self._fail(runner, exc)
        return self._assemble_if_complete(runner)

    def _resumable(self, manifest: Manifest | None) -> Manifest | None:
        """The saved state of an earlier run, if it can be for this content and these settings."""
        if manifest is None or manifest.settings != self.options.settings_hash:
            return None
        if set(manifest.tracks) != {t for t, _ in self._tracks}:
            return None
        if any((info.get("size"), info.get("mtime_ns")) != (self.item.file.size, self.item.file.mtime_ns)
               for info in manifest.tracks.values()):  # fmt: skip
            return None
        for key, chunk in self.options.store.saved(manifest).items():
            self._done[key] = _Done(chunk.start, chunk.end, chunk.attempts, chunk.transcript)
        return manifest

    def _read_track(self, runner: TaskHost, track: str, channel: int | None,
                    saved: Manifest | None) -> dict[str, object]:  # fmt: skip
        """Read one track, queueing its chunks; what the manifest keeps of it."""
        path = self.item.file.path
        finder = (
            None
            if saved is not None
            else CutFinder(
                self.plan.chunk_seconds,
                window_seconds=self.plan.window_seconds,
                max_cuts=self.plan.chunks - 1,
            )
        )
        known = list(saved.tracks[track]["cuts"]) if saved is not None else []
        cuts: list[int] = []
        state = {"read": 0, "queued": 0}
        spool = self.options.store.spool_path(self.source, track)
        opened: list[tuple[Path, int, audio.FileIdentity]] = []

        def queue(end: int) -> None:
            index, start = len(cuts), cuts[-1] if cuts else 0
            cuts.append(end)
            state["queued"] = end
            if (track, index) in self._done or runner.left_out(self.item):
                return
            read_path, offset, identity = opened[0]
            pcm = audio.PcmRange(read_path, offset + 2 * start, 2 * (end - start), path, identity, "")
            runner.add([ChunkTask(self, track, channel, index, start, end, pcm)])

        def on_open(read_path: Path, offset: int, identity: audio.FileIdentity) -> None:
            opened.append((read_path, offset, identity))

        def on_pcm(block: bytes) -> None:
            state["read"] += len(block) // 2
            if finder is not None:
                for cut in finder.feed(block):
                    if cut.warning:
                        self._warnings.append(cut.warning)
                    queue(cut.sample)
            while len(cuts) < len(known) and known[len(cuts)] <= state["read"]:
                queue(known[len(cuts)])

        # Room for this track's spool and those of the tracks still to be read after it.
        left = len(self._tracks) - len(self._receipts)
        spool_bytes = int(self.item.audio.duration_s * audio.BYTES_PER_SECOND) * left
        result = audio.read_track(path, channel=channel, spool=spool, on_pcm=on_pcm, on_open=on_open,
                                  spool_bytes=spool_bytes)  # fmt: skip
        self._receipts.append(result.receipt)
        self._warnings.extend(result.warnings)
        if state["queued"] < result.samples or not cuts:
            queue(result.samples)
        with self._lock:
            self._chunks[track] = len(cuts)
        return {"samples": result.samples, "cuts": cuts[:-1], "size": self.item.file.size,
                "mtime_ns": self.item.file.mtime_ns}  # fmt: skip

    # -- the chunks -----------------------------------------------------------------------------

    def run_chunk(self, task: ChunkTask, runner: TaskHost, worker: int) -> FileResult | None:
        if self._settled:
            return None  # the recording failed or changed meanwhile
        label = f"{self.source} [{task.track} {task.index}]"
        request = RecognitionRequest(self.item.file.path, self.item.audio, channel=task.channel,
                                     label=label, pcm=task.pcm)  # fmt: skip

        def progress(seconds: float) -> None:
            self._progress(runner, (task.track, task.index), min(seconds, task.seconds))

        timeline: list[Attempt] = []  # this chunk's attempts, then the recording's
        try:
            transcript = runner.transcribe(
                self.item, worker, request, progress, timeline, seconds=task.seconds
            )
            self.options.store.save(self.source, SavedChunk(task.track, task.index, task.start, task.end,
                                                            len(timeline), transcript))  # fmt: skip
        except (FileError, RunAbortedError) as exc:
            self._record(timeline, task.label)
            return self._fail(runner, exc, len(timeline))
        self._record(timeline, task.label)
        with self._lock:
            self._running.pop((task.track, task.index), None)
            self._done[task.track, task.index] = _Done(task.start, task.end, len(timeline), transcript)
            self._chunk_receipts.append(transcript.receipt)
        self._progress(runner, None, 0.0)
        return self._assemble_if_complete(runner)

    def _record(self, timeline: list[Attempt], label: str) -> None:
        """Keep a chunk's attempts for the recording's timeline, labelled for the report."""
        with self._lock:
            self._timeline.extend(replace(a, chunk=label) for a in timeline)

    def _progress(self, runner: TaskHost, key: tuple[str, int] | None, seconds: float) -> None:
        with self._lock:
            if key is not None:
                self._running[key] = seconds
            done = sum(d.end - d.start for d in self._done.values()) / audio.SAMPLE_RATE
            total = (done + sum(self._running.values())) / len(self._tracks)
        runner.events.file_progress(self.item, total)

    def _settle(self) -> bool:
        """Mark the recording as given its result; False when it already was."""
        with self._lock:
            first, self._settled = not self._settled, True
            return first

    def _fail(self, runner: TaskHost, exc: FileError | RunAbortedError,
              attempts: int = 0) -> FileResult | None:  # fmt: skip
        if not self._settle():
            return None
        self.options.store.remove_spools(self.source)  # the next run decodes again: free the disk now
        return runner.failure(self.item, exc, attempts, self._started, self._timeline)

    # -- the whole transcript -------------------------------------------------------------------

    def _assemble_if_complete(self, runner: TaskHost) -> FileResult | None:
        with self._lock:
            expected = [(track, index) for track, count in self._chunks.items() for index in range(count)]
            complete = self._read_over and all(k in self._done for k in expected)
            if not complete or self._settled:
                return None
            self._settled = True
        transcript = self.transcript()
        attempts = max((d.attempts for d in self._done.values()), default=1)
        result = runner.deliver(self.item, transcript, attempts, self._started, self._timeline)
        if result is not None and result.status == "succeeded":
            self.options.store.discard(self.source)
        return result

    def transcript(self) -> Transcript:
        """The chunks stitched into one transcript in file time, tracks merged."""
        phrases: list[Phrase] = []
        warnings: list[str] = list(self._warnings)
        records: list[ChunkRecord] = []
        for track, channel in self._tracks:
            done = sorted(((i, d) for (t, i), d in self._done.items() if t == track), key=lambda x: x[0])
            stitched = stitch([
                ChunkTranscript(d.start * TICKS_PER_SAMPLE, d.end * TICKS_PER_SAMPLE, d.transcript)
                for _, d in done
            ])  # fmt: skip
            phrases.extend(stitched.phrases)
            warnings.extend(w for w in stitched.warnings if w not in warnings)
            records.extend(ChunkRecord(d.start / audio.SAMPLE_RATE, d.end / audio.SAMPLE_RATE, d.attempts,
                                       channel) for _, d in done)  # fmt: skip
        phrases.sort(key=lambda p: (p.offset_ticks, p.channel))
        return Transcript(phrases=tuple(phrases), warnings=tuple(warnings), receipt=self._receipt(),
                          chunks=tuple(records))  # fmt: skip

    def _receipt(self) -> audio.ReadReceipt | None:
        """The read's receipt, unless a chunk saw a different recording (then that chunk's)."""
        receipt = audio.combine_receipts(list(self._receipts))
        if receipt is None:
            return None
        for chunk in self._chunk_receipts:
            if chunk is not None and chunk.change():
                return chunk
            if chunk is not None and chunk.opened != receipt.opened:
                return replace(chunk, reads_differ=True)
        return replace(receipt, at_path=_identity_at(self.item))


def _identity_at(item: WorkItem) -> audio.FileIdentity | None:
    try:
        return audio.FileIdentity.of(item.file.path.stat())
    except OSError:
        return None
