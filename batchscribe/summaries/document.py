"""``NAME.summary.json`` and ``NAME.summary.md`` beside ``NAME.json``, and the one decision of
whether a recording's summary is due (``decide``).

The summary JSON is the record: it names the transcript it was made from (the SHA-256 of the
text sent, and the transcript file's size and mtime for a cheap check), the prompt's SHA-256 and
the deployment. A summary is due when there is none, or any of those three changed; a refusal
by the content filter is recorded the same way (``status: refused``) so it is not sent again
until one of them changes. Both files are written atomically, the Markdown first, the JSON last,
so a run killed between them redoes the pair. The JSON carries the checksum of its content: one
edited or cut by hand is redone; a Markdown file edited or deleted by hand is written again from
its JSON, without a request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from batchscribe import __version__
from batchscribe.names import shown, text_of
from batchscribe.outputs import markdown_text as md
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.layout import OutFolder

SCHEMA_VERSION = 1
Status = Literal["done", "refused", "empty"]
"""done: summarized; refused: the content filter refused it (a warning); empty: no speech to summarize."""


@dataclass(frozen=True)
class SummaryPaths:
    transcript: Path  # NAME.json
    json: Path  # NAME.summary.json
    markdown: Path  # NAME.summary.md

    @classmethod
    def of(cls, out: Path, source: str) -> SummaryPaths:
        transcript = OutFolder(out).output_paths(source, ("json",))[0]
        stem = transcript.name.removesuffix(".json")
        return cls(transcript, transcript.with_name(f"{stem}.summary.json"),
                   transcript.with_name(f"{stem}.summary.md"))  # fmt: skip


@dataclass(frozen=True)
class Stamp:
    """The transcript file as last seen: a changed size or mtime means reading it again."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Stamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Decision:
    due: bool
    why: str  # new, transcript changed, prompt changed, deployment changed, done, refused before, no speech


def decide(
    existing: Mapping[str, Any] | None,
    stamp: Stamp,
    *,
    prompt_sha256: str,
    deployment: str,
    text_sha256: Callable[[], str],
) -> Decision:
    """Whether a recording's summary is due: the only place this is decided. ``text_sha256`` reads
    the transcript; it is called only when the transcript file's size or mtime changed."""
    if existing is None:
        return Decision(True, "new")
    if existing.get("prompt_sha256") != prompt_sha256:
        return Decision(True, "prompt changed")
    if existing.get("deployment") != deployment:
        return Decision(True, "deployment changed")
    transcript = existing.get("transcript")
    if not isinstance(transcript, Mapping):
        return Decision(True, "new")
    same_file = (transcript.get("size"), transcript.get("mtime_ns")) == (stamp.size, stamp.mtime_ns)
    if not same_file and transcript.get("sha256") != text_sha256():
        return Decision(True, "transcript changed")
    status = existing.get("status")
    return Decision(False, "refused before" if status == "refused" else "no speech" if status == "empty"
                    else "done")  # fmt: skip


def read_summary(path: Path) -> dict[str, Any] | None:
    """A summary JSON written by batchscribe, or None (missing, cut, edited by hand): its
    ``checksum`` must match its content, so a hand-edited summary is redone, never trusted."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
        return None
    if document.get("checksum") != checksum(document):
        return None
    return document


def checksum(document: Mapping[str, Any]) -> str:
    """The SHA-256 of a summary's content (every key but ``checksum``), canonically serialized."""
    content = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def restore_markdown(paths: SummaryPaths, document: Mapping[str, Any]) -> bool:
    """Write ``NAME.summary.md`` again from its (checked) JSON when it is missing or was edited by
    hand: nothing is sent, the JSON is the record. True when it was written."""
    wanted = render_markdown(document)
    try:
        if paths.markdown.read_text(encoding="utf-8") == wanted:
            return False
    except (OSError, ValueError):
        pass
    write_atomic(paths.markdown, wanted)
    return True


def build(
    *,
    source: str,
    status: Status,
    answer: Mapping[str, Any],
    text_sha256: str,
    stamp: Stamp,
    deployment: str,
    model: str,
    prompt_sha256: str,
    tokens: Mapping[str, int],
    cost: float,
    price_per_1k_tokens: float,
    parts: int,
    elapsed_s: float,
    run_id: str,
    warning: str = "",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "source": text_of(source),  # undecodable bytes escaped as in NAME.json: the file is UTF-8
        "status": status,
        "summary": answer.get("summary", ""),
        "action_items": list(answer.get("action_items", [])),
        "topics": list(answer.get("topics", [])),
        **({"warning": warning} if warning else {}),
        "transcript": {"sha256": text_sha256, "size": stamp.size, "mtime_ns": stamp.mtime_ns},
        "deployment": deployment,
        "model": model,
        "prompt_sha256": prompt_sha256,
        "tokens": dict(tokens),
        "cost": {"estimated": round(cost, 6), "price_per_1k_tokens": price_per_1k_tokens},
        "parts": parts,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_s": round(elapsed_s, 3),
        "run_id": run_id,
        "version": __version__,
    }
    return {**document, "checksum": checksum(document)}


def write(paths: SummaryPaths, document: Mapping[str, Any]) -> tuple[Path, Path]:
    """Both files, atomically; the JSON (the record, with its ``checksum``) last."""
    document = {**document, "checksum": checksum(document)}
    write_atomic(paths.markdown, render_markdown(document))
    write_atomic(paths.json, json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return paths.markdown, paths.json


def render_markdown(document: Mapping[str, Any]) -> str:
    # What the model said (and the transcript it read) is outside text: escaped, never markup.
    name = shown(Path(str(document["source"])).name)  # one line, no terminal control
    lines = [f"# {md.text(name)}", ""]
    if document["status"] == "refused":
        lines += [f"No summary: {md.text(document.get('warning', 'refused by the content filter'))}.", ""]
    elif document["status"] == "empty":
        lines += ["No summary: the transcript has no speech.", ""]
    else:
        lines += [*md.paragraphs(document["summary"]), ""]
    if document["action_items"]:
        lines += ["## Action items", "", *[f"- [ ] {md.text(item)}" for item in document["action_items"]], ""]
    if document["topics"]:
        lines += ["## Topics", "", ", ".join(md.text(topic) for topic in document["topics"]), ""]
    tokens = document["tokens"].get("total", 0)
    model = document["model"] or "model not reported"
    made = f"{md.text(document['deployment'])} ({md.text(model)}), {tokens} tokens, {document['created_at']}"
    lines += [f"*{made}*"]
    return "\n".join(lines) + "\n"
