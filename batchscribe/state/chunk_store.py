"""Finished chunks of long recordings, kept next to the state so a killed run pays for none twice.

    <out>/_state/chunks/<key>/manifest.json    the recording's SHA-256, settings and cut points
    <out>/_state/chunks/<key>/<track>.<n>.json one finished chunk: its span, attempts, phrases
    <out>/_state/chunks/<key>/<track>.pcm      a decoded track (spool), when it was not a plain WAV

``<key>`` is a digest of the recording's ``source``. Every JSON is written atomically
(``write_atomic``) with a checksum of its content, and read back without trusting it
(``chunk_codec``: regular files only, never blocking, checksum, every field of its type). The
manifest is written once every track of the recording has been read, so it holds the digest of
what was read; a chunk file counts only when the manifest has the same digest and transcript
settings and the chunk's span is one of its chunks. Anything else (a changed recording, changed
settings, a run killed before its manifest, a file edited or damaged, a manifest whose cuts do
not tile its track) is discarded as a whole and redone: ``discard`` removes the recording's
folder, which batchscribe alone writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from batchscribe.audio import SpoolSpaceError
from batchscribe.engines.base import Phrase, Transcript
from batchscribe.errors import FileError, spool_error
from batchscribe.names import shown
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.layout import OutFolder
from batchscribe.state.chunk_codec import InvalidState, decode, read_document, seal, unseal, whole_number

log = logging.getLogger(__name__)
CHUNKS_DIR = "chunks"
MANIFEST = "manifest.json"
VERSION = 2  # 2: every file sealed with a checksum
_TRACK_FIELDS = ("samples", "cuts", "size", "mtime_ns")


@dataclass(frozen=True)
class SavedChunk:
    """A chunk's transcript from an earlier session: samples ``[start, end)`` of its track."""

    track: str
    index: int
    start: int
    end: int
    attempts: int
    transcript: Transcript


@dataclass
class Manifest:
    """What a recording's chunks were cut from: per track its length and cut points (samples)."""

    source: str
    sha256: str
    settings: str
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)  # {"samples", "cuts", "spool"}

    def bounds(self, track: str) -> list[tuple[int, int]]:
        info = self.tracks[track]
        edges = [0, *info["cuts"], info["samples"]]
        return list(itertools.pairwise(edges))


def _checked_tracks(tracks: Any) -> dict[str, dict[str, Any]]:
    """The manifest's tracks if each one's cuts tile it: whole numbers, strictly increasing,
    inside ``(0, samples)``."""
    if not isinstance(tracks, dict) or not tracks:
        raise InvalidState("the manifest has no tracks")
    for track, info in tracks.items():
        if not isinstance(info, dict) or set(info) != set(_TRACK_FIELDS):
            raise InvalidState(f"the manifest's track {track!r} is not as written")
        samples = whole_number(info["samples"], f"track {track!r}: samples", minimum=1)
        for name in ("size", "mtime_ns"):
            whole_number(info[name], f"track {track!r}: {name}")
        cuts = info["cuts"]
        if not isinstance(cuts, list):
            raise InvalidState(f"track {track!r}: cuts is not a list")
        edges = [0, *(whole_number(c, f"track {track!r}: a cut") for c in cuts), samples]
        if any(a >= b for a, b in itertools.pairwise(edges)):
            raise InvalidState(f"track {track!r}: its cuts do not tile its {samples} samples")
    return tracks


class ChunkStore:
    """The saved chunks of one output folder; used by the run holding the folder's lock."""

    def __init__(self, out_dir: Path) -> None:
        self.root = OutFolder(out_dir).state_dir / CHUNKS_DIR

    def folder(self, source: str) -> Path:
        # The name's bytes on disk: a name that is not UTF-8 (``\udcff`` for byte 0xff) has some too.
        return self.root / hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:24]

    def spool_path(self, source: str, track: str) -> Path:
        return self.folder(source) / f"{track}.pcm"

    def manifest(self, source: str) -> Manifest | None:
        """The recording's manifest; None when there is none or it cannot be trusted (then
        nothing saved for the recording is used: the caller discards it)."""
        try:
            data = read_document(self.folder(source) / MANIFEST)
            if data is None:
                return None
            body = unseal(data, "the manifest")
            if body.get("version") != VERSION or body.get("source") != source:
                raise InvalidState("the manifest is of another version or recording")
            sha256, settings = body.get("sha256"), body.get("settings")
            if not isinstance(sha256, str) or not isinstance(settings, str):
                raise InvalidState("the manifest's digest or settings are not text")
            return Manifest(source, sha256, settings, _checked_tracks(body.get("tracks")))
        except InvalidState as exc:
            log.warning("%s: the saved chunk state is discarded and redone: %s", shown(source), exc)
            return None

    def write_manifest(self, manifest: Manifest) -> None:
        folder = self.folder(manifest.source)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / MANIFEST, seal({"version": VERSION, **asdict(manifest)}))

    def save(self, source: str, chunk: SavedChunk) -> None:
        """Keep a finished chunk (atomically: a kill leaves the old state or the new one)."""
        folder = self.folder(source)
        folder.mkdir(parents=True, exist_ok=True)
        body = {
            "track": chunk.track, "index": chunk.index, "start": chunk.start, "end": chunk.end,
            "attempts": chunk.attempts, "phrases": [asdict(p) for p in chunk.transcript.phrases],
            "warnings": list(chunk.transcript.warnings),
        }  # fmt: skip
        write_atomic(folder / f"{chunk.track}.{chunk.index}.json", seal(body))

    def saved(self, manifest: Manifest) -> dict[tuple[str, int], SavedChunk]:
        """The chunks saved for ``manifest``'s cut points; a chunk file that cannot be trusted
        (or is of another span) is removed, so that chunk is sent again."""
        found: dict[tuple[str, int], SavedChunk] = {}
        for track in manifest.tracks:
            for index, (start, end) in enumerate(manifest.bounds(track)):
                path = self.folder(manifest.source) / f"{track}.{index}.json"
                try:
                    chunk = self._chunk(path, track, index, start, end)
                except InvalidState as exc:
                    log.warning("%s: saved chunk %s %d is discarded and redone: %s",
                                shown(manifest.source), track, index, exc)  # fmt: skip
                    self._remove(path)
                    continue
                if chunk is not None:
                    found[track, index] = chunk
        return found

    @staticmethod
    def _chunk(path: Path, track: str, index: int, start: int, end: int) -> SavedChunk | None:
        data = read_document(path)
        if data is None:
            return None
        body = unseal(data, path.name)
        span = (body.get("track"), body.get("index"), body.get("start"), body.get("end"))
        if span != (track, index, start, end):
            raise InvalidState(f"{path.name} is of another span")
        phrases, warnings = body.get("phrases"), body.get("warnings")
        if not isinstance(phrases, list) or not isinstance(warnings, list):
            raise InvalidState(f"{path.name}: phrases or warnings are not lists")
        if not all(isinstance(w, str) for w in warnings):
            raise InvalidState(f"{path.name}: a warning is not text")
        transcript = Transcript(phrases=tuple(decode(Phrase, p, path.name) for p in phrases),
                                warnings=tuple(warnings))  # fmt: skip
        attempts = whole_number(body.get("attempts"), f"{path.name}: attempts", minimum=1)
        return SavedChunk(track, index, start, end, attempts, transcript)

    @staticmethod
    def _remove(path: Path) -> None:
        """Remove a state file batchscribe wrote (or whatever was put in its place)."""
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def spool_error(self, source: str, exc: OSError) -> FileError:
        """Why ``source``'s decoded audio could not be kept here while its chunks are sent."""
        folder = self.folder(source)
        if isinstance(exc, SpoolSpaceError):
            return FileError(
                f"{exc.strerror} (its decoded audio is kept in {folder} while its chunks are sent)",
                code="no_space_to_split",
                hint="free space under the output folder, or send long recordings whole with --split off",
            )
        return spool_error(exc, str(folder))

    def remove_spools(self, source: str) -> None:
        """Remove the recording's decoded tracks (sessions reading them keep their open files)."""
        for spool in self.folder(source).glob("*.pcm"):
            with contextlib.suppress(OSError):
                spool.unlink()

    def discard(self, source: str) -> None:
        """Forget everything saved for ``source`` (its folder is batchscribe's own)."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.folder(source))
