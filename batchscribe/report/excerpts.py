"""What was heard in the files a reviewer should look at: a short excerpt of each transcript.

A warning says *that* something looks off (low confidence, an early end); the first and last
words say *what*: the wrong language, hold music read as words, a call that hung up. Excerpts are
read back from each file's per-file JSON, only for files with warnings or flagged by the
triage, and never go into ``summary.json`` (whose rows are a contract); the HTML and Markdown
reports show them, escaped like every other text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from batchscribe.names import shown
from batchscribe.outputs.azure_json import TranscriptDocumentError, read_transcript_document
from batchscribe.report.summary import file_warnings
from batchscribe.results import FileResult

HEAD_CHARS = 90
TAIL_CHARS = 40
GAP = " … "


def shorten(text: str, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> str:
    """``text`` on one line; when long, its start and end cut at spaces around an ellipsis."""
    words = " ".join(text.split())
    if len(words) <= head + tail + len(GAP):
        return words
    start = words[: head + 1].rsplit(" ", 1)[0] if " " in words[:head] else words[:head]
    end = words[-tail - 1 :].split(" ", 1)[-1] if " " in words[-tail:] else words[-tail:]
    return f"{start}{GAP}{end}"


def transcript_excerpts(files: Iterable[FileResult], also: Collection[str] = ()) -> dict[str, str]:
    """``{source: excerpt}`` for the succeeded files with warnings, or named in ``also`` (as the
    summary names them: the recordings the quality triage flagged), whose JSON can be read."""
    excerpts: dict[str, str] = {}
    for file in files:
        if file.status != "succeeded" or not (file_warnings(file) or shown(file.source) in also):
            continue
        text = _display_text(file.outputs)
        if text:
            excerpts[shown(file.source)] = shorten(text)  # keyed as the summary names files
    return excerpts


def _display_text(outputs: Iterable[Path]) -> str:
    for path in outputs:
        if path.suffix == ".json":
            try:
                document = read_transcript_document(path)
            except TranscriptDocumentError:
                return ""  # moved or damaged since: the report still renders without it
            combined: Iterable[Mapping[str, object]] = document["combinedRecognizedPhrases"]
            return " ".join(str(c.get("display", "")) for c in combined).strip()
    return ""
