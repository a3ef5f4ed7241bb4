"""Write one recording's outputs: the single entry point the runner calls.

Names mirror the input tree under the output folder and keep the source's extension, so
``a.mp3`` and ``a.wav`` never collide: source ``calls/a.mp3`` gives ``<out>/calls/a.mp3.json``,
``.mp3.txt``, ``.mp3.srt``, ``.mp3.vtt``. Every file is written atomically, and the JSON last: its
presence (checked by ``read_transcript_document``) means every other output of that recording is
complete. Outputs are returned, and written, in the order txt, srt, vtt, json.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Transcript
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.azure_json import TranscriptMeta, iter_transcript_json, transcript_document
from batchscribe.outputs.subtitles import render_srt, render_vtt
from batchscribe.outputs.text import render_text

FORMATS = ("txt", "srt", "vtt", "json")  # the writing order: json, the completion marker, last


def output_paths(out_dir: Path, source: str, formats: Sequence[str]) -> tuple[Path, ...]:
    """Where the given formats of ``source`` go, in writing order; duplicates are ignored."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown output format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    base = out_dir.joinpath(*_safe_parts(source))
    return tuple(base.with_name(f"{base.name}.{fmt}") for fmt in FORMATS if fmt in formats)


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

    Raises ``OutOfDiskError`` when the disk is full; a failure part-way leaves the files already
    written but no JSON, so the recording counts as not done.
    """
    renderers: dict[str, Callable[[], str | Iterator[str]]] = {
        "txt": lambda: render_text(transcript, timestamps=timestamps),
        "srt": lambda: render_srt(transcript),
        "vtt": lambda: render_vtt(transcript),
        "json": lambda: iter_transcript_json(
            transcript_document(source=source, transcript=transcript, audio=audio, meta=meta)
        ),
    }
    written = []
    for path in output_paths(out_dir, source, formats):
        write_atomic(path, renderers[path.suffix.lstrip(".")]())
        written.append(path)
    return tuple(written)


def _safe_parts(source: str) -> tuple[str, ...]:
    """The parts of a relative source path; refuses anything that could escape ``out_dir``."""
    path = PurePosixPath(source)
    parts = tuple(p for p in path.parts if p != ".")
    escapes = path.is_absolute() or ".." in parts
    if os.name == "nt":  # there a backslash separates too, and a drive makes a path absolute
        windows = PureWindowsPath(source)
        escapes = escapes or bool(windows.anchor) or ".." in windows.parts
    if escapes or not parts:
        raise ValueError(f"source must be a path relative to its scanned root, got {source!r}")
    return parts
