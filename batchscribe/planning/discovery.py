"""Find the recordings under the given files and folders, in a deterministic order.

Recursive; only regular files (a FIFO, device or socket is never opened); audio and video by
extension, case-insensitive; ``--include``/``--exclude`` globs;
hidden files and folders (which covers macOS ``._*`` files) are skipped; symlinked folders are
followed once, so a symlink loop cannot trap the scan; a file reached twice is listed once.

Each recording gets a ``source``: its path relative to the scanned root, with forward slashes.
It names the outputs (mirrored under ``--out``) and keys the state, so it must be unique: with
several roots, each root's name prefixes its sources.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from batchscribe.errors import UsageError

AUDIO_EXTENSIONS = frozenset(
    {
        ".wav", ".wave", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".webm", ".wma",
        ".amr", ".awb", ".mp4", ".m4v", ".mov", ".mkv", ".mka", ".3gp", ".3ga", ".aif", ".aiff",
        ".aifc", ".caf", ".au", ".snd", ".wv", ".ac3", ".mp2", ".mpga", ".avi", ".wmv", ".ts", ".spx",
    }
)  # fmt: skip


@dataclass(frozen=True)
class AudioFile:
    """A recording found by discovery, with what it looked like when it was found."""

    path: Path  # absolute
    source: str  # relative to its root, forward slashes; unique within a run
    size: int
    mtime_ns: int
    ctime_ns: int = 0  # when its inode last changed here: a copy cannot set it, unlike mtime

    @property
    def extension(self) -> str:
        return self.path.suffix.lower()


@dataclass(frozen=True)
class Discovered:
    files: tuple[AudioFile, ...]
    ignored: int  # non-audio, hidden or excluded files seen
    unreadable: tuple[tuple[str, Path, str], ...] = ()  # (source, path, why) of folders not listed


def is_audio_name(name: str) -> bool:
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def matches(source: str, patterns: Sequence[str]) -> bool:
    """A glob without "/" matches the file name; with "/", the whole relative path."""
    name = source.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(source if "/" in p else name, p) for p in patterns)


def _walk(
    folder: Path, rel: str, seen_dirs: set[tuple[int, int]], unreadable: list[tuple[str, Path, str]]
) -> Iterator[tuple[Path, str, os.stat_result]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return  # vanished since it was listed
    except OSError as exc:  # e.g. no permission: its recordings must not be skipped without a word
        unreadable.append((rel, folder, exc.strerror or str(exc)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            continue  # dangling symlink or vanished
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue  # symlink loop or a folder reached twice
            seen_dirs.add(key)
            yield from _walk(Path(entry.path), child_rel, seen_dirs, unreadable)
        elif stat.S_ISREG(st.st_mode):
            yield Path(entry.path), child_rel, st


def _root_prefixes(inputs: Sequence[Path]) -> list[str]:
    """'' for a single input; otherwise each input's name, made unique."""
    if len(inputs) == 1:
        return [""]
    prefixes: list[str] = []
    for path in inputs:
        name = path.resolve().name or "root"
        candidate, n = name, 2
        while candidate in prefixes:
            candidate, n = f"{name}-{n}", n + 1
        prefixes.append(candidate)
    return prefixes


@dataclass
class Walk:
    """What a streamed discovery saw besides the recordings it yielded (filled as it goes)."""

    ignored: int = 0  # non-audio, hidden or excluded files seen
    unreadable: list[tuple[str, Path, str]] = field(default_factory=list)  # folders not listed


def check_inputs(inputs: Sequence[Path]) -> None:
    """Missing inputs are a usage error, said before anything is done."""
    for path in inputs:
        if not path.exists():
            raise UsageError(f"{path} does not exist", hint="give existing files or folders to transcribe")


def walk(
    inputs: Sequence[Path], walked: Walk, *, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[AudioFile]:
    """The recordings under ``inputs`` as they are found (each folder's entries in name order,
    not sorted overall), so a run can start on the first ones while the rest are still listed.
    What was skipped or could not be listed goes to ``walked``."""
    check_inputs(inputs)
    # In path order, whatever the order given: an enclosing folder before the folders inside it,
    # so a file under both is always named from the outer one (`run a a/sub` == `run a/sub a`).
    inputs = sorted({path.resolve(): path for path in inputs}.values(), key=lambda p: p.resolve().parts)
    seen: set[tuple[int, int]] = set()
    for path, prefix in zip(inputs, _root_prefixes(inputs), strict=True):
        absolute = path.resolve()
        listed: list[tuple[str, Path, str]] = []  # filled as the candidates are consumed
        if absolute.is_dir():
            root_stat = absolute.stat()
            candidates = _walk(absolute, "", {(root_stat.st_dev, root_stat.st_ino)}, listed)
        else:
            st = absolute.stat()
            candidates = iter([(absolute, absolute.name, st)] if stat.S_ISREG(st.st_mode) else [])
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device given by name: never opened
                listed.append((absolute.name, absolute, "not a regular file"))
        for file_path, rel, st in candidates:
            source = f"{prefix}/{rel}" if prefix else rel
            if (
                not is_audio_name(file_path.name)
                or (include and not matches(rel, include))
                or matches(rel, exclude)
            ):
                walked.ignored += 1
                continue
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                yield AudioFile(path=file_path, source=source, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                ctime_ns=st.st_ctime_ns)  # fmt: skip
        for rel, where, why in listed:
            walked.unreadable.append(("/".join(p for p in (prefix, rel) if p) or ".", where, why))


def discover(
    inputs: Sequence[Path], *, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Discovered:
    """All recordings under ``inputs``, sorted by source. Missing inputs are a usage error."""
    walked = Walk()
    files = sorted(walk(inputs, walked, include=include, exclude=exclude), key=lambda f: f.source)
    return Discovered(files=tuple(files), ignored=walked.ignored, unreadable=tuple(walked.unreadable))
