"""Render missing outputs from a recording's JSON instead of transcribing it again.

Adding ``srt`` to ``--formats`` for a folder already done, or deleting a ``.txt`` by hand, must
not cost audio hours: the JSON holds everything the other formats are made of. The JSON itself is
never rewritten here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.azure_json import read_transcript_document
from batchscribe.outputs.layout import OutFolder
from batchscribe.outputs.subtitles import render_srt, render_vtt
from batchscribe.outputs.text import render_text


def transcript_from_document(document: Mapping[str, Any]) -> Transcript:
    """The Transcript a per-file JSON was written from (the inverse of ``transcript_document``)."""
    phrases = []
    for entry in document.get("recognizedPhrases", ()):
        best: Mapping[str, Any] = (entry.get("nBest") or [{}])[0]
        phrases.append(
            Phrase(
                offset_ticks=int(entry["offsetInTicks"]),
                duration_ticks=int(entry["durationInTicks"]),
                display=str(best.get("display", "")),
                lexical=str(best.get("lexical", "")),
                itn=str(best.get("itn", "")),
                masked_itn=str(best.get("maskedITN", "")),
                confidence=best.get("confidence"),
                words=tuple(
                    Word(
                        str(w["word"]),
                        int(w["offsetInTicks"]),
                        int(w["durationInTicks"]),
                        w.get("confidence"),
                    )
                    for w in best.get("words", ())
                ),
                channel=int(entry.get("channel", 0)),
                speaker=entry.get("speaker"),
                locale=entry.get("locale"),
                status=str(entry.get("recognitionStatus", "Success")),
            )
        )
    return Transcript(phrases=tuple(phrases))


def rerender_outputs(
    out_dir: Path, source: str, formats: Sequence[str], *, timestamps: bool
) -> tuple[Path, ...]:
    """Write the requested non-JSON formats of ``source`` from its JSON; returns every output path.

    Raises ``TranscriptDocumentError`` (a ValueError) when the JSON is missing or damaged.
    """
    paths = OutFolder(out_dir).output_paths(source, formats)
    transcript = transcript_from_document(read_transcript_document(paths[-1]))
    renderers = {
        ".txt": lambda: render_text(transcript, timestamps=timestamps),
        ".srt": lambda: render_srt(transcript),
        ".vtt": lambda: render_vtt(transcript),
    }
    for path in paths:
        if path.suffix in renderers:
            write_atomic(path, renderers[path.suffix]())
    return paths
