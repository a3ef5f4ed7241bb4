"""``summary.md``: the run summary for people, rendered from the ``summary.json`` dict.

Order follows what a reviewer does next morning: the headline and totals, then failures, each
once (grouped by cause with what to do, the files under it), recordings the quality triage
flagged, cancelled files, warnings (identical ones once, with the files that share them and a few
words of what was heard), and the slowest files. File names are code spans and free text is
escaped, so names like ``*draft*|v2.wav`` or ``<b>.wav`` print as they are in any Markdown viewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchscribe.outputs.markdown_text import code, text
from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.digest import digest_markdown
from batchscribe.report.morning import money, readable_settings, report_link
from batchscribe.report.summary import (
    RESOURCE_HEADER,
    count_rows,
    failure_causes,
    headline,
    plural,
    resource_table,
)
from batchscribe.report.triage import unflagged_warnings


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(summary: Mapping[str, Any], excerpts: Mapping[str, str] | None = None) -> str:
    """The page; ``excerpts`` (source -> a few words heard) go beside the files with warnings."""
    lines = [f"# batchscribe run {text(summary['run_id'])}", "", f"**{text(headline(summary))}**", ""]
    if summary["stop_reason"]:
        lines += [f"Stopped early: {text(summary['stop_reason'])}; the rest is picked up next run.", ""]
    if summary.get("at_service"):
        lines += [f"At the service: {text(summary['at_service'])}", ""]
    lines += _service(summary)
    lines += _totals(summary)
    if resources := resource_table(summary):
        rows = [[text(cell) for cell in row] for row in resources]
        lines += ["## Speech resources", "", *table(list(RESOURCE_HEADER), rows)]
    lines += _failures(summary["failures"])
    lines += _still_failing(summary.get("still_failing", []))
    lines += _flagged(summary)
    lines += _retries(summary.get("retries", []))
    if summary["cancelled"]:
        lines += [f"## Cancelled ({len(summary['cancelled'])})", ""]
        lines += ["Not finished; the next run picks them up.", ""]
        lines += [f"- {code(source, in_table=False)}" for source in summary["cancelled"]] + [""]
    if warned := unflagged_warnings(summary):
        lines += [f"## Warnings ({len(warned)})", ""]
        lines += _warnings(warned, excerpts or {})
    if summary["slowest"]:
        lines += ["## Slowest files", ""]
        lines += table(
            ["File", "Status", "Took", "Audio", "Attempts"],
            [
                [
                    code(row["source"]),
                    text(row["status"]),
                    human_seconds(row["elapsed_s"]),
                    human_seconds(row["audio_seconds"]),
                    str(row["attempts"]),
                ]
                for row in summary["slowest"]
            ],
        )
    lines += digest_markdown(summary)  # --summarize (issue 21)
    lines += _transcripts(summary.get("transcripts", {}))
    lines += ["## Settings", "", *table(["Setting", "Value"], [
        [text(label), text(value)] for label, value in readable_settings(summary["settings"])
    ])]  # fmt: skip
    return "\n".join(lines).rstrip("\n") + "\n"


def _service(summary: Mapping[str, Any]) -> list[str]:
    lines = [f"Service: {text(summary.get('service', ''))}", ""]
    cost = summary.get("cost")
    if cost:  # none for an emulated run: nothing was billed
        price = f"{cost['price_per_hour']:g} {cost.get('currency', '')}".strip()
        lines += [f"Estimated cost: {text(money(cost))} ({cost['audio_hours']:.4f} audio hours at "
                  f"{text(price)} per hour)", ""]  # fmt: skip
    return lines


def _flagged(summary: Mapping[str, Any]) -> list[str]:
    quality = summary.get("quality")
    if not quality or not quality.get("flagged"):
        return []
    rows = [
        [text(r["severity"]), f"[{code(r['source'])}](<{report_link(r['link'])}>)",
         text("; ".join(f["detail"] for f in r["flags"]))]
        for r in quality["recordings"]
    ]  # fmt: skip
    return [
        f"## Flagged for a look ({quality['flagged']} of {quality['checked']})",
        "",
        "Transcribed, but probably not right (thresholds: the `quality` settings).",
        "",
        *table(["Severity", "Recording", "What looks off"], rows),
    ]


def _still_failing(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    body = [[code(r["source"]), text(r["since"]), code(r["code"]), text(r["message"])] for r in rows]
    return [
        f"## Still failing ({len(rows)})",
        "",
        "Failed permanently in an earlier run and unchanged since: not sent again "
        "(`--retry-failed` sends them).",
        "",
        *table(["File", "Since", "Code", "Why"], body),
    ]


def _retries(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    body = [
        [
            code(r["source"]) if a["attempt"] == 1 else "",
            str(a["attempt"]),
            text(a["outcome"]),
            text(a["class"]),
            text(a["reason"]),
        ]
        for r in rows
        for a in r["attempts"]
    ]
    return [
        f"## Retried files ({len(rows)})",
        "",
        *table(["File", "Attempt", "Outcome", "Class", "Reason"], body),
    ]


def _transcripts(files: Mapping[str, Sequence[str]]) -> list[str]:
    if not files:
        return []
    rows = [
        [code(source), " ".join(f"[{text(p.rsplit('.', 1)[-1])}](<{report_link(p)}>)" for p in paths)]
        for source, paths in sorted(files.items())
    ]
    return [f"## Transcripts ({len(files)})", "", *table(["File", "Outputs"], rows)]


def _warnings(warnings: Sequence[Mapping[str, Any]], excerpts: Mapping[str, str]) -> list[str]:
    """Identical warnings once, the files that share them under it (with a few words heard)."""
    groups: dict[str, list[str]] = {}
    for w in warnings:
        groups.setdefault(w["warning"], []).append(w["source"])
    lines = []
    for warning, sources in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        lines += [f"### {text(warning)} ({len(sources)})", ""]
        for source in sources:
            heard = excerpts.get(source, "")
            lines.append(f"- {code(source, in_table=False)}" + (f": _{text(heard)}_" if heard else ""))
        lines.append("")
    return lines


def failure_text(row: Mapping[str, Any]) -> str:
    """The message, then the service's own text when it adds something."""
    message, detail = row["message"], row["detail"]
    return f"{message}: {detail}" if detail and detail not in message else message


def _totals(summary: Mapping[str, Any]) -> list[str]:
    rows = [[label, str(value)] for label, value in count_rows(summary)]
    rows += [
        ["Audio transcribed", human_seconds(summary["audio_seconds"])],
        ["Wall time", human_seconds(summary["wall_seconds"])],
        ["Throughput", f"{summary['throughput']:.2f} audio s per wall s"],
        ["Started", text(summary["started_at"])],
        ["Ended", text(summary["ended_at"])],
        ["Exit code", str(summary["exit_code"])],
    ]
    return ["## Totals", "", *table(["", ""], rows)]


def _failures(failures: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each failure once: by cause, with what to do, and the files under it."""
    if not failures:
        return ["## Failures", "", "None.", ""]
    lines = [f"## Failures ({len(failures)})", ""]
    for cause in failure_causes(failures):
        files = plural(cause["files"], "file")
        lines += [f"### {code(cause['code'], in_table=False)}: {text(cause['class'])}, {files}", ""]
        lines += [f"What to do: {text(cause['hint'])}", ""]
        lines += table(
            ["File", "What happened", "SDK code", "Tries"],
            [
                [code(row["source"]), text(failure_text(row)), text(row["sdk_code"]),
                 str(row["attempts"]) if row["attempts"] else "not sent"]
                for row in failures
                if row["code"] == cause["code"]
            ],
        )  # fmt: skip
    return lines
