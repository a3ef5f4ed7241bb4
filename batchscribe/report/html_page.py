"""``report.html``: one self-contained page to review a run (inline CSS and SVG, no script).

Failures come first, as ``<table id="failures">`` with what to do; then files with warnings (with
a few words of what was heard, see ``excerpts``), the slowest files, the worker timeline and the
settings. Every piece of text that came from outside (file names, error texts, transcript
warnings and excerpts, settings) goes through ``escape``; a Content-Security-Policy that forbids
scripts and network access backs that up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.digest import digest_html
from batchscribe.report.markdown import failure_text
from batchscribe.report.morning import readable_settings, report_link
from batchscribe.report.summary import RESOURCE_HEADER, count_rows, failure_causes, headline, resource_table
from batchscribe.report.timeline import timeline_svg
from batchscribe.results import RunResult

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.headline { font-size: 1.15rem; font-weight: 600; padding: .5rem .75rem; border-radius: 4px; }
.ok { background: #e8f5e9; } .bad { background: #ffebee; } .stopped { background: #fff8e1; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #ddd; padding: .3rem .6rem; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.file, code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
td.file { min-width: 16ch; } td.code { white-space: nowrap; }
td.heard { font-style: italic; max-width: 32rem; }
.muted { color: #666; }
"""


def render_html(
    result: RunResult, summary: Mapping[str, Any], excerpts: Mapping[str, str] | None = None
) -> str:
    """The page; ``excerpts`` (source -> a few words heard) go beside the files with warnings."""
    body = [
        f"<h1>batchscribe run {escape(summary['run_id'])}</h1>",
        f'<p class="muted">{escape(summary["started_at"])} to {escape(summary["ended_at"])}'
        f" &middot; batchscribe {escape(summary['version'])} &middot; exit code {summary['exit_code']}</p>",
        f'<p class="headline {_tone(summary)}">{escape(headline(summary))}</p>',
    ]
    if summary["stop_reason"]:
        body.append(
            f"<p>Stopped early: {escape(summary['stop_reason'])}; the rest is picked up next run.</p>"
        )
    body += _service(summary)
    body += _totals(summary)
    if resources := resource_table(summary):
        rows = [[escape(cell) for cell in row] for row in resources]
        body += ["<h2>Speech resources</h2>", _table(RESOURCE_HEADER, rows, table_id="resources")]
    body += _failures(summary["failures"])
    body += _still_failing(summary.get("still_failing", []))
    body += _not_sent(summary.get("not_sent", []))
    body += _retries(summary.get("retries", []))
    if summary["cancelled"]:
        body += [
            f"<h2>Cancelled ({len(summary['cancelled'])})</h2>",
            "<p>Not finished; the next run picks them up.</p>",
        ]
        body.append(_table(["File"], [[_file(s)] for s in summary["cancelled"]], table_id="cancelled"))
    body += _warnings(summary["warnings"], excerpts or {})
    body += _slowest(summary["slowest"])
    svg = timeline_svg(result.files, wall_seconds=result.wall_seconds)
    body += ["<h2>Worker timeline</h2>", svg or '<p class="muted">No attempts were recorded.</p>']
    body += digest_html(summary)  # --summarize (issue 21)
    body += _transcripts(summary.get("transcripts", {}))
    settings = [[escape(label), escape(value)] for label, value in readable_settings(summary["settings"])]
    body += ["<h2>Settings</h2>", _table(["Setting", "Value"], settings, table_id="settings")]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>batchscribe run {escape(summary['run_id'])}</title><style>{_CSS}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _service(summary: Mapping[str, Any]) -> list[str]:
    rows = [["Service", escape(summary.get("service", ""))]]
    cost = summary.get("cost")
    if cost:
        rows.append(["Estimated cost", _num(f"{cost['estimated']:.2f}")])
        rows.append(["Audio hours billed (estimate)", _num(f"{cost['audio_hours']:.4f}")])
        rows.append(["Price per audio hour", _num(f"{cost['price_per_hour']:g}")])
    return [_table(["", ""], rows, table_id="service")]


def _still_failing(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    body = [
        [_file(r["source"]), escape(r["since"]), f"<code>{escape(r['code'])}</code>", escape(r["message"])]
        for r in rows
    ]
    return [
        f"<h2>Still failing ({len(rows)})</h2>",
        "<p>Failed permanently in an earlier run and unchanged since: not sent again "
        "(<code>--retry-failed</code> sends them).</p>",
        _table(["File", "Since", "Code", "Why"], body, table_id="still-failing"),
    ]


def _not_sent(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    body = [[_file(r["source"]), f"<code>{escape(r['code'])}</code>", escape(r["reason"])] for r in rows]
    return [
        f"<h2>Not sent: not audio or unreadable ({len(rows)})</h2>",
        _table(["File", "Code", "Why"], body, table_id="not-sent"),
    ]


def _retries(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    body = [
        [
            _file(r["source"]) if a["attempt"] == 1 else "<td></td>",
            _num(a["attempt"]),
            escape(a["outcome"]),
            escape(a["class"]),
            escape(a["reason"]),
        ]
        for r in rows
        for a in r["attempts"]
    ]
    return [
        f"<h2>Retried files ({len(rows)})</h2>",
        _table(["File", "Attempt", "Outcome", "Class", "Reason"], body, table_id="retries"),
    ]


def _transcripts(files: Mapping[str, Sequence[str]]) -> list[str]:
    if not files:
        return []
    body = [
        [
            _file(source),
            " ".join(f'<a href="{escape(report_link(p))}">{escape(p.rsplit(".", 1)[-1])}</a>' for p in paths),
        ]
        for source, paths in sorted(files.items())
    ]
    return [f"<h2>Transcripts ({len(files)})</h2>", _table(["File", "Outputs"], body, table_id="transcripts")]


def _tone(summary: Mapping[str, Any]) -> str:
    if summary["aborted"] or summary["counts"]["failed"]:
        return "bad"
    return "stopped" if summary["interrupted"] or summary["stop_reason"] else "ok"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, table_id: str = "") -> str:
    """Cells are HTML already (callers escape); header labels are ours."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    ident = f' id="{table_id}"' if table_id else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""  # no empty row over key-values
    return f"<table{ident}>{thead}<tbody>{body}</tbody></table>"


def _file(source: str) -> str:
    return f'<td class="file">{escape(source)}</td>'


def _num(value: object) -> str:
    return f'<td class="num">{escape(str(value))}</td>'


def _totals(summary: Mapping[str, Any]) -> list[str]:
    rows = [[escape(label), _num(value)] for label, value in count_rows(summary)]
    rows += [
        ["Audio transcribed", _num(human_seconds(summary["audio_seconds"]))],
        ["Wall time", _num(human_seconds(summary["wall_seconds"]))],
        ["Throughput (audio s per wall s)", _num(f"{summary['throughput']:.2f}")],
    ]
    return ["<h2>Totals</h2>", _table(["", ""], rows, table_id="totals")]


def _failures(failures: Sequence[Mapping[str, Any]]) -> list[str]:
    if not failures:
        return ["<h2>Failures</h2>", "<p>None.</p>"]
    causes = [
        [
            f'<td class="code"><code>{escape(c["code"])}</code></td>',
            escape(c["class"]),
            _num(c["files"]),
            escape(c["hint"]),
        ]
        for c in failure_causes(failures)
    ]
    rows = [
        [
            _file(row["source"]),
            escape(row["class"]),
            f'<td class="code"><code>{escape(row["code"])}</code>'
            + (f"<br><small>{escape(row['sdk_code'])}</small>" if row["sdk_code"] else "")
            + "</td>",
            escape(failure_text(row)),
            _num(row["attempts"]),
            escape(row["hint"]),
        ]
        for row in failures
    ]
    return [
        f"<h2>Failures ({len(failures)})</h2>",
        _table(["Cause", "Class", "Files", "What to do"], causes, table_id="failure-causes"),
        _table(["File", "Class", "Code", "Detail", "Attempts", "What to do"], rows, table_id="failures"),
    ]


def _warnings(warnings: Sequence[Mapping[str, Any]], excerpts: Mapping[str, str]) -> list[str]:
    if not warnings:
        return []
    rows, shown = [], set()
    for w in warnings:
        # The excerpt goes with a file's first warning; its other warnings need no repeat.
        excerpt = excerpts.get(w["source"], "") if w["source"] not in shown else ""
        shown.add(w["source"])
        heard = f'<td class="heard">{escape(excerpt)}</td>' if excerpt else "<td></td>"
        rows.append([_file(w["source"]), escape(w["warning"]), heard])
    return [
        f"<h2>Warnings ({len(warnings)})</h2>",
        _table(["File", "Warning", "Heard"], rows, table_id="warnings"),
    ]


def _slowest(slowest: Sequence[Mapping[str, Any]]) -> list[str]:
    if not slowest:
        return []
    rows = [
        [
            _file(row["source"]),
            escape(row["status"]),
            _num(human_seconds(row["elapsed_s"])),
            _num(human_seconds(row["audio_seconds"])),
            _num(row["attempts"]),
        ]
        for row in slowest
    ]
    return [
        "<h2>Slowest files</h2>",
        _table(["File", "Status", "Took", "Audio", "Attempts"], rows, table_id="slowest"),
    ]
