"""The morning report's digest of the night's summaries (``--summarize``, issue 21): one section
of summary.json (``summaries``), summary.md, report.html and the console, each rendered here.

Per recording summarized tonight: its one-line summary and action items (or why it has none);
the night's most frequent topics; counts, tokens and the estimated cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from html import escape
from typing import Any

from batchscribe.names import shown
from batchscribe.outputs import markdown_text as md
from batchscribe.report.morning import DEFAULT_CURRENCY
from batchscribe.results import RunResult
from batchscribe.secrets import Redactor


def digest_rows(result: RunResult) -> dict[str, Any]:
    """The ``summaries`` key of summary.json (nothing without ``--summarize``)."""
    digest = result.summaries
    if digest is None:
        return {}
    mask = Redactor()
    rows = [
        {**asdict(row), "source": shown(row.source), "action_items": list(row.action_items),
         "topics": list(row.topics), "reason": mask(row.reason)}
        for row in digest.rows
    ]  # fmt: skip
    return {
        "summaries": {
            "deployment": digest.deployment,
            "made": digest.made,
            "unchanged": digest.unchanged,
            "refused": digest.refused,
            "failed": digest.failed,
            "not_scheduled": digest.not_scheduled,
            "stopped": mask(digest.stopped),
            "stop_reason": digest.stop_reason,
            "tokens": {
                "prompt": digest.prompt_tokens,
                "completion": digest.completion_tokens,
                "total": digest.total_tokens,
            },
            "cost": {
                "estimated": round(digest.cost, 4),
                "price_per_1k_tokens": digest.price_per_1k_tokens,
                "currency": str(result.settings.get("currency") or DEFAULT_CURRENCY),
            },
            "topics": [{"topic": topic, "recordings": count} for topic, count in digest.topics],
            "recordings": rows,
        }
    }


def summaries_failed(summary: Mapping[str, Any]) -> bool:
    """Whether summaries asked for were not made (failed, or stopped for the run)."""
    block = summary.get("summaries") or {}
    return bool(block.get("failed") or block.get("stopped"))


def digest_totals(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Console lines: what the summaries stage did, and why it stopped."""
    block = summary.get("summaries")
    if not block:
        return []
    counts = (f"{block['made']} made, {block['unchanged']} unchanged, {block['refused']} refused, "
              f"{block['failed']} failed")  # fmt: skip
    if block["not_scheduled"]:
        counts += f", {block['not_scheduled']} left for the next run"
    tokens = f"{block['tokens']['total']:,}"
    settings = summary.get("settings") or {}
    openai = settings.get("summaries")
    emulated = isinstance(openai, Mapping) and openai.get("endpoint") == "emulator"
    if not emulated:  # an emulated deployment costs nothing: no cost shown
        currency = block["cost"].get("currency") or settings.get("currency") or DEFAULT_CURRENCY
        tokens += f" (estimated cost {block['cost']['estimated']:.2f} {currency})"
    rows = [("Summaries", counts), ("Summary tokens", tokens)]
    if block["stopped"]:
        rows.append(("Summaries stopped", block["stopped"]))
    elif block["stop_reason"]:
        rows.append(("Summaries stopped early", block["stop_reason"]))
    return rows


def _lines(summary: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    block = summary.get("summaries")
    return block, list(block["recordings"]) if block else []


def digest_markdown(summary: Mapping[str, Any]) -> list[str]:
    """The digest as a summary.md section."""
    block, recordings = _lines(summary)
    if not block:
        return []
    lines = [f"## Summaries ({md.text(block['deployment'])})", ""]
    lines += [f"{label}: {md.text(value)}" for label, value in digest_totals(summary)] + [""]
    if block["topics"]:
        topics = ", ".join(f"{md.text(t['topic'])} ({t['recordings']})" for t in block["topics"])
        lines += [f"Most frequent topics: {topics}", ""]
    for row in recordings:  # what the model said is outside text: escaped, never markup
        lines.append(f"- {md.code(row['source'], in_table=False)}: {md.text(_said(row))}")
        lines += [f"  - [ ] {md.text(item)}" for item in row["action_items"]]
    return [*lines, ""] if recordings else lines


def digest_html(summary: Mapping[str, Any]) -> list[str]:
    """The digest as a report.html section (every outside text escaped)."""
    block, recordings = _lines(summary)
    if not block:
        return []
    body = [f"<h2>Summaries ({escape(block['deployment'])})</h2>"]
    body += [f"<p>{escape(label)}: {escape(value)}</p>" for label, value in digest_totals(summary)]
    if block["topics"]:
        topics = ", ".join(f"{escape(t['topic'])} ({t['recordings']})" for t in block["topics"])
        body.append(f'<p id="topics">Most frequent topics: {topics}</p>')
    if recordings:
        body.append('<table id="summaries"><thead><tr><th>File</th><th>Summary</th><th>Action items</th>'
                    "</tr></thead><tbody>")  # fmt: skip
        body += [_html_row(row) for row in recordings]
        body.append("</tbody></table>")
    return body


def _html_row(row: Mapping[str, Any]) -> str:
    items = "".join(f"<li>{escape(item)}</li>" for item in row["action_items"])
    return (f'<tr><td class="file">{escape(row["source"])}</td><td>{escape(_said(row))}</td>'
            f"<td>{f'<ul>{items}</ul>' if items else ''}</td></tr>")  # fmt: skip


def _said(row: Mapping[str, Any]) -> str:
    if row["status"] == "done":
        return str(row["one_line"])
    if row["status"] == "empty":
        return "no speech"
    prefix = "refused (a warning)" if row["status"] == "refused" else "summary failed"
    return f"{prefix}: {row['reason']}"


__all__: Sequence[str] = [
    "digest_html",
    "digest_markdown",
    "digest_rows",
    "digest_totals",
    "summaries_failed",
]
