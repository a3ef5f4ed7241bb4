"""Write one recording's outputs: the single entry point the runner calls.

Names come from ``layout.OutFolder``: they mirror the input tree under the output folder and
keep the source's extension, so ``a.mp3`` and ``a.wav`` never collide: source ``calls/a.mp3``
gives ``<out>/calls/a.mp3.json``, ``.mp3.txt``, ``.mp3.srt``, ``.mp3.vtt``. Every file is written
atomically, and the JSON last: its presence (checked by ``read_transcript_document``) means every
other output of that recording is complete. Outputs are returned, and written, in the order
txt, srt, vtt, json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.engines.base import Transcript
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
    for path in OutFolder(out_dir).output_paths(source, formats):
        write_atomic(path, renderers[path.suffix.lstrip(".")]())
        written.append(path)
    return tuple(written)
