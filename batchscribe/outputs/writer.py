"""Write one recording's outputs: the single entry point the runner calls.

Names come from ``layout.OutFolder``: they mirror the input tree under the output folder and
keep the source's extension, so ``a.mp3`` and ``a.wav`` never collide: source ``calls/a.mp3``
gives ``<out>/calls/a.mp3.json``, ``.mp3.txt``, ``.mp3.srt``, ``.mp3.vtt``. Every file is written
atomically, and the JSON last: its presence (checked by ``read_transcript_document``) means every
other output of that recording is complete. Outputs are returned, and written, in the order
txt, srt, vtt, json.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Transcript
from batchscribe.errors import FileError
from batchscribe.names import shown
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.azure_json import TranscriptMeta, iter_transcript_json, transcript_document
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.subtitles import render_srt, render_vtt
from batchscribe.outputs.text import render_text


def write_outputs(
    *,
    out_dir: Path,
    source: str,
    formats: Sequence[str],
    transcript: Transcript,
    audio: AudioInfo,
    meta: TranscriptMeta,
    timestamps: bool,
) -> tuple[Path, ...]:
    """Render and write the requested formats of one recording; returns the paths written.

    Raises ``OutOfDiskError`` when the disk is full and ``FileError`` when this recording's
    outputs cannot be written (a name too long for the file system, a folder that resolves
    outside ``out_dir``). Either way the outputs written by this call are removed again: a
    recording's outputs appear all together or not at all.
    """
    renderers: dict[str, Callable[[], str | Iterator[str]]] = {
        "txt": lambda: render_text(transcript, timestamps=timestamps),
        "srt": lambda: render_srt(transcript),
        "vtt": lambda: render_vtt(transcript),
        "json": lambda: iter_transcript_json(
            transcript_document(source=source, transcript=transcript, audio=audio, meta=meta)
        ),
    }
    layout = OutFolder(out_dir)
    paths = layout.output_paths(source, formats)
    _check_inside(layout, paths[0].parent)
    written: list[Path] = []
    try:
        for path in paths:
            write_atomic(path, renderers[path.suffix.lstrip(".")]())
            written.append(path)
    except BaseException as exc:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, OSError):
            raise _unwritable(exc, path) from exc
        raise
    return tuple(written)


def check_writable(out_dir: Path, source: str, formats: Sequence[str]) -> None:
    """Raise the ``FileError`` writing these outputs would meet, before any audio is sent for
    them (check first, pay after): a name or a whole path too long for the file system, a folder
    leading outside ``out_dir``, a folder that cannot be made or written to."""
    layout = OutFolder(out_dir)
    paths = layout.output_paths(source, formats)
    folder = paths[0].parent
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    name_max, path_max = _limit(existing, "PC_NAME_MAX", 255), _limit(existing, "PC_PATH_MAX", 4096)
    longest = max(paths, key=lambda p: len(os.fsencode(p.name)))
    if len(os.fsencode(longest.name)) > name_max:
        raise _unwritable(OSError(errno.ENAMETOOLONG, "File name too long"), longest)
    temp_name_bytes = 32  # ``.batchscribe-<12 hex>.tmp`` and its separator
    length = max(_bytes(longest), _bytes(folder) + temp_name_bytes)
    if length >= path_max:
        raise FileError(
            f"its output path is too long for the file system ({length:,} bytes; at most {path_max - 1:,})",
            code="path_too_long",
            hint="choose a shorter --out, or move the recording to a less deeply nested folder",
        )
    _check_inside(layout, folder)
    if not existing.is_dir():
        raise FileError(
            f"cannot write its outputs: {shown(str(existing))} is a file, not a folder",
            code="output_unwritable",
            hint="move that file out of the output folder, or choose another --out",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FileError(
            f"cannot write its outputs: no permission to write in {shown(str(existing))}",
            code="output_unwritable",
            hint="check the permissions of the output folder",
        )


def _bytes(path: Path) -> int:
    return len(os.fsencode(path.absolute()))


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError, AttributeError):  # unknown there, or not on this platform
        return default


def _check_inside(layout: OutFolder, folder: Path) -> None:
    if not layout.contains(folder):
        raise FileError(
            f"its outputs would land outside {shown(str(layout.root))}: {shown(str(folder))} "
            "is a symbolic link that leads out of it",
            code="output_outside_out",
            hint="replace the symbolic link inside --out by a real folder, or choose another --out",
        )


def _unwritable(exc: OSError, path: Path) -> FileError:
    if exc.errno == errno.ENAMETOOLONG and len(os.fsencode(path.name)) <= 255:
        return FileError(
            f"its output path is too long for the file system ({_bytes(path):,} bytes)",
            code="path_too_long",
            hint="choose a shorter --out, or move the recording to a less deeply nested folder",
        )
    if exc.errno == errno.ENAMETOOLONG:
        return FileError(
            f"its output name is too long for the file system ({len(os.fsencode(path.name))} bytes)",
            code="name_too_long",
            hint="shorten the recording's name: its outputs add up to 5 bytes (.json) to it",
        )
    return FileError(
        f"cannot write {shown(str(path))}: {exc.strerror or exc}",
        code="output_unwritable",
        hint="check the permissions of the output folder",
    )
