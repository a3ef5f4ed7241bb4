"""Finished chunks of long recordings, kept next to the state so a killed run pays for none twice.

    <out>/_state/chunks/<key>/manifest.json    the recording's SHA-256, settings and cut points
    <out>/_state/chunks/<key>/<track>.<n>.json one finished chunk: its span, attempts, phrases
    <out>/_state/chunks/<key>/<track>.pcm      a decoded track (spool), when it was not a plain WAV

``<key>`` is a digest of the recording's ``source``. Every JSON is written atomically
(``write_atomic``). The manifest is written once every track of the recording has been read, so
it holds the digest of what was read; a chunk file counts only when the manifest has the same
digest and transcript settings and the chunk's span is one of its chunks. Anything else (a
changed recording, changed settings, a run killed before its manifest) is discarded as a whole:
``discard`` removes the recording's folder, which batchscribe alone writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.layout import OutFolder

CHUNKS_DIR = "chunks"
MANIFEST = "manifest.json"
VERSION = 1


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


def _phrase_from(data: dict[str, Any]) -> Phrase:
    words = tuple(Word(**w) for w in data.pop("words", ()))
    return Phrase(**data, words=words)


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
        try:
            data = json.loads((self.folder(source) / MANIFEST).read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                return None
            return Manifest(data["source"], data["sha256"], data["settings"], data["tracks"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_manifest(self, manifest: Manifest) -> None:
        folder = self.folder(manifest.source)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / MANIFEST, json.dumps({"version": VERSION, **asdict(manifest)}))

    def save(self, source: str, chunk: SavedChunk) -> None:
        """Keep a finished chunk (atomically: a kill leaves the old state or the new one)."""
        folder = self.folder(source)
        folder.mkdir(parents=True, exist_ok=True)
        body = {
            "track": chunk.track, "index": chunk.index, "start": chunk.start, "end": chunk.end,
            "attempts": chunk.attempts, "phrases": [asdict(p) for p in chunk.transcript.phrases],
            "warnings": list(chunk.transcript.warnings),
        }  # fmt: skip
        write_atomic(folder / f"{chunk.track}.{chunk.index}.json", json.dumps(body))

    def saved(self, manifest: Manifest) -> dict[tuple[str, int], SavedChunk]:
        """The chunks saved for ``manifest``'s cut points (others are ignored)."""
        found: dict[tuple[str, int], SavedChunk] = {}
        for track in manifest.tracks:
            for index, (start, end) in enumerate(manifest.bounds(track)):
                path = self.folder(manifest.source) / f"{track}.{index}.json"
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    if (data["start"], data["end"]) != (start, end):
                        continue
                    transcript = Transcript(
                        phrases=tuple(_phrase_from(dict(p)) for p in data["phrases"]),
                        warnings=tuple(data["warnings"]),
                    )
                    found[track, index] = SavedChunk(track, index, start, end, int(data["attempts"]),
                                                     transcript)  # fmt: skip
                except (OSError, ValueError, KeyError, TypeError):
                    continue
        return found

    def discard(self, source: str) -> None:
        """Forget everything saved for ``source`` (its folder is batchscribe's own)."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.folder(source))
