"""Text from outside (file names, what was said, a model's answer) made safe in Markdown: free
text has its specials escaped, so ``<script>``, ``**bold**``, ``[link](...)`` or a line starting
with ``#`` print as they are in any viewer; names are code spans fenced by more backticks than they
hold. Used by the run's ``summary.md`` and each recording's ``NAME.summary.md``."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&])")
_BLOCK_START = re.compile(
    r"^(?:[-+](?=\s|$)|=|\d+(?=[.)](?:\s|$)))"
)  # a list item, a setext underline, "1." or "1)"
_BACKTICKS = re.compile(r"`+")


def text(value: object) -> str:
    """Free text safe inside a table cell or a list item: specials escaped, on one line."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))
    block = _BLOCK_START.match(escaped)
    if block is None:
        return escaped
    cut = block.end()
    return escaped[:cut] + "\\" + escaped[cut:] if block.group().isdigit() else "\\" + escaped


def paragraphs(value: object) -> list[str]:
    """Free text of several lines as escaped paragraphs (a blank line between them)."""
    lines = [text(line) for line in str(value).splitlines() if line.strip()]
    return [part for line in lines for part in (line, "")][:-1]


def code(value: object, *, in_table: bool = True) -> str:
    """A code span that holds any name: fenced by more backticks than it contains.

    In a table a pipe must still be escaped (GFM splits cells before it sees code spans); in a
    list item the backslash would show, so it is left alone there.
    """
    raw = " ".join(str(value).split())
    if in_table:
        raw = raw.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(raw)), default=0) + 1)
    padding = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{padding}{raw}{padding}{fence}"
