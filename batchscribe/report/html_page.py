"""``report.html``: one self-contained page to review a night (inline CSS and SVG, no script).

Top to bottom, as a reviewer works: the night at a glance (status, recordings, audio, cost with
its currency, time), failures once each (grouped by cause, the files under it, what to do), files
still failing from earlier nights, recordings the quality triage flagged (by severity, linked to
their transcripts), warnings grouped by text, cancelled and retried files, the history of the
kept runs (small SVG charts), the worker timeline, the slowest files, Speech resources, the full
counts, the transcripts and the settings. Each section is its own function returning HTML pieces
(an empty list when it has nothing to say), so a new section slots into ``SECTIONS``.

Every piece of text from outside (file names, error texts, warnings, excerpts, settings) goes
through ``escape``; a Content-Security-Policy that forbids scripts and network access backs that up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.charts import CHARTED, history_svg
from batchscribe.report.digest import digest_html
from batchscribe.report.html_parts import file_cell, name_html, num_cell, page, table, text_cell
from batchscribe.report.markdown import failure_text
from batchscribe.report.morning import EMULATOR_NOTE, money, readable_settings, report_link
from batchscribe.report.summary import (
    RESOURCE_HEADER,
    count_rows,
    failure_causes,
    headline,
    plural,
    resource_table,
)
from batchscribe.report.timeline import timeline_svg
from batchscribe.report.triage import unflagged_warnings
from batchscribe.results import RunResult

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class Page:
    """What the sections read: the run, its summary.json dict, excerpts heard, the history rows."""

    def __init__(
        self,
        result: RunResult,
        summary: Mapping[str, Any],
        excerpts: Mapping[str, str],
        history: Sequence[Mapping[str, Any]],
    ) -> None:
        self.result, self.summary, self.excerpts, self.history = result, summary, excerpts, history


def render_html(
    result: RunResult,
    summary: Mapping[str, Any],
    excerpts: Mapping[str, str] | None = None,
    history: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The page; ``excerpts`` (source -> a few words heard) go beside the files with warnings,
    ``history`` (``history.history_rows``, this run last) draws the comparison with earlier runs."""
    view = Page(result, summary, excerpts or {}, history)
    body = [piece for section in SECTIONS for piece in section(view)]
    return page(f"batchscribe run {summary['run_id']}", body, _CSP)


def glance(view: Page) -> list[str]:
    """The night in one look: the headline, then a few numbers in boxes."""
    s = view.summary
    counts = s["counts"]
    quality = s.get("quality") or {}
    started, ended = s["started_at"], s["ended_at"]
    recordings = [f"{counts['failed']} failed"] if counts["failed"] else []
    if quality.get("flagged"):
        recordings.append(f"{quality['flagged']} flagged")
    if still := len(s.get("still_failing", ())):
        recordings.append(f"{still} still failing")
    if counts["cancelled"]:
        recordings.append(f"{counts['cancelled']} cancelled")
    cost = s.get("cost")
    if cost is None:
        cost_box = (
            "none",
            "emulated: nothing billed" if s.get("service") == EMULATOR_NOTE else "not recorded",
        )
    else:
        price = f"{cost['price_per_hour']:g} {cost.get('currency', '')}".strip()
        cost_box = (money(cost), f"estimate, {cost['audio_hours']:.2f} h at {price}/h")
    boxes = [
        (f"{counts['succeeded']} transcribed", ", ".join(recordings) or "no failures"),
        (human_seconds(s["audio_seconds"]), "audio transcribed"),
        cost_box,
        (human_seconds(s["wall_seconds"]), f"{started[11:16]}-{ended[11:16]} UTC, {s['throughput']:.1f}x"),
    ]
    body = [
        f"<h1>batchscribe run {escape(s['run_id'])}</h1>",
        f'<p class="muted">{escape(started)} to {escape(ended)} &middot; {escape(s.get("service", ""))}'
        f" &middot; batchscribe {escape(s['version'])} &middot; exit code {s['exit_code']}</p>",
        f'<p class="headline {_tone(s)}">{escape(headline(s))}</p>',
        '<div class="glance" id="glance">'
        + "".join(f"<div><b>{escape(big)}</b><span>{escape(small)}</span></div>" for big, small in boxes)
        + "</div>",
    ]
    if s["stop_reason"]:
        body.append(f"<p>Stopped early: {escape(s['stop_reason'])}; the rest is picked up next run.</p>")
    if s.get("at_service"):
        body.append(f"<p>At the service: {escape(s['at_service'])}</p>")
    return body


def failures(view: Page) -> list[str]:
    """Each failure once: grouped by cause with what to do, the files and their details under it."""
    rows = view.summary["failures"]
    if not rows:
        return ["<h2>Failures</h2>", "<p>None.</p>"]
    body: list[list[str]] = []
    for cause in failure_causes(rows):
        head = (
            f'<th colspan="3" class="cause"><code>{escape(cause["code"])}</code> &middot; '
            f"{escape(cause['class'])} &middot; {plural(cause['files'], 'file')}<br>"
            f"<b>What to do:</b> {escape(cause['hint'])}</th>"
        )
        body.append([head])
        for row in rows:
            if row["code"] != cause["code"]:
                continue
            tries = "not sent" if row["attempts"] == 0 else plural(row["attempts"], "attempt")
            sdk = f" ({row['sdk_code']})" if row["sdk_code"] else ""
            body.append([file_cell(row["source"]), text_cell(failure_text(row) + sdk), escape(tries)])
    return [
        f"<h2>Failures ({len(rows)})</h2>",
        table(["File", "What happened", "Tries"], body, table_id="failures"),
    ]


def still_failing(view: Page) -> list[str]:
    rows = view.summary.get("still_failing", [])
    if not rows:
        return []
    body = [[file_cell(r["source"]), num_cell(r["since"][:10]), _why(r["code"], r["message"])] for r in rows]
    return [
        f"<h2>Still failing ({len(rows)})</h2>",
        "<p>Failed permanently in an earlier run and unchanged since: not sent again "
        "(<code>--retry-failed</code> sends them).</p>",
        table(["File", "Since", "Why"], body, table_id="still-failing"),
    ]


def _why(code: str, message: str) -> str:
    """A code over its message in one cell: three columns fit a phone."""
    return (
        f'<td class="text"><code>{escape(code)}</code><br>{escape(message)}</td>'
        if code
        else text_cell(message)
    )


def flagged(view: Page) -> list[str]:
    """Recordings the quality triage thinks deserve a look, most serious first."""
    quality = view.summary.get("quality")
    if not quality or not quality.get("flagged"):
        return []
    counts = ", ".join(f"{n} {severity}" for severity, n in quality["by_severity"].items() if n)
    body = [
        [
            f'<td class="sev-{escape(r["severity"])}">{escape(r["severity"])}</td>',
            f'<td class="file"><a href="{escape(report_link(r["link"]))}">{name_html(r["source"])}</a></td>',
            _flag_cell(r, view.excerpts.get(r["source"], "")),
        ]
        for r in quality["recordings"]
    ]
    listed = len(quality["recordings"])
    more = (
        f"<p>The first {listed} are listed; summary.json counts all.</p>"
        if listed < quality["flagged"]
        else ""
    )
    return [
        f"<h2>Flagged for a look ({quality['flagged']} of {quality['checked']})</h2>",
        f"<p>Transcribed, but probably not right: {escape(counts)}. Thresholds are under Settings "
        "(<code>quality</code>).</p>",
        table(["Severity", "Recording", "What looks off"], body, table_id="flagged"),
        more,
    ]


def _flag_cell(row: Mapping[str, Any], heard: str) -> str:
    flags = "<br>".join(escape(f["detail"]) for f in row["flags"])
    said = f'<br><span class="heard">{escape(heard)}</span>' if heard else ""
    return f'<td class="text">{flags}{said}</td>'


def warnings(view: Page) -> list[str]:
    """Identical warnings once, with the files that share them (and a few words heard in each).
    A quality warning of a recording the triage flagged is left to ``flagged``: shown once."""
    rows = unflagged_warnings(view.summary)
    if not rows:
        return []
    groups: dict[str, list[str]] = {}
    for w in rows:
        groups.setdefault(w["warning"], []).append(w["source"])
    body: list[list[str]] = []
    for text, sources in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        body.append(
            [f'<th colspan="2" class="cause">{escape(text)} &middot; {plural(len(sources), "file")}</th>']
        )
        for source in sources:
            heard = view.excerpts.get(source, "")
            body.append(
                [file_cell(source), f'<td class="heard">{escape(heard)}</td>' if heard else "<td></td>"]
            )
    files = len({w["source"] for w in rows})
    return [
        f"<h2>Warnings ({len(groups)} kinds, {plural(files, 'file')})</h2>",
        table(["File", "Heard"], body, table_id="warnings"),
    ]


def cancelled(view: Page) -> list[str]:
    rows = view.summary["cancelled"]
    if not rows:
        return []
    return [
        f"<h2>Cancelled ({len(rows)})</h2>",
        "<p>Not finished; the next run picks them up.</p>",
        table(["File"], [[file_cell(s)] for s in rows], table_id="cancelled"),
    ]


def retries(view: Page) -> list[str]:
    rows = view.summary.get("retries", [])
    if not rows:
        return []
    body = [
        [
            file_cell(r["source"]) if a["attempt"] == 1 else "<td></td>",
            f'<td class="num">{a["attempt"]} {escape(a["outcome"])}</td>',
            text_cell(f"{a['class']}: {a['reason']}" if a["class"] else a["reason"]),
        ]
        for r in rows
        for a in r["attempts"]
    ]
    return [
        f"<h2>Retried files ({len(rows)})</h2>",
        table(["File", "Attempt", "Why"], body, table_id="retries"),
    ]


def history(view: Page) -> list[str]:
    """The kept runs compared: one small chart per number, this run the dark bar."""
    rows = view.history
    if len(rows) < 2:
        return []
    currency = next((r["currency"] for r in reversed(rows) if r.get("currency")), "")
    charts = [
        history_svg(rows, key, f"{title} ({currency})" if key == "cost" and currency else title)
        for key, title in CHARTED
        if any(r.get(key) is not None for r in rows)
    ]
    return [
        f"<h2>History ({len(rows)} runs)</h2>",
        f'<p class="muted">From {escape(str(rows[0]["started_at"])[:10])}; this run is the dark bar.</p>',
        '<div class="charts" id="history">' + "".join(charts) + "</div>",
    ]


def timeline(view: Page) -> list[str]:
    svg = timeline_svg(view.result.files, wall_seconds=view.result.wall_seconds)
    if not svg:
        return ["<h2>Worker timeline</h2>", '<p class="muted">No attempts were recorded.</p>']
    return ["<h2>Worker timeline</h2>", f'<div class="scroll timeline">{svg}</div>']  # readable on a phone


def slowest(view: Page) -> list[str]:
    rows = view.summary["slowest"]
    if not rows:
        return []
    body = [
        [
            f'<td class="file">{name_html(r["source"])}'
            + (f' <span class="muted">({escape(r["status"])})</span>' if r["status"] != "succeeded" else "")
            + "</td>",
            num_cell(human_seconds(r["elapsed_s"])),
            num_cell(human_seconds(r["audio_seconds"])),
            num_cell(r["attempts"]),
        ]
        for r in rows
    ]
    return ["<h2>Slowest files</h2>", table(["File", "Took", "Audio", "Tries"], body, table_id="slowest")]


def resources(view: Page) -> list[str]:
    rows = resource_table(view.summary)
    if not rows:
        return []
    return [
        "<h2>Speech resources</h2>",
        table(RESOURCE_HEADER, [[escape(c) for c in r] for r in rows], table_id="resources"),
    ]


def totals(view: Page) -> list[str]:
    s = view.summary
    rows = [[escape(label), num_cell(value)] for label, value in count_rows(s)]
    rows += [
        ["Audio transcribed", num_cell(human_seconds(s["audio_seconds"]))],
        ["Wall time", num_cell(human_seconds(s["wall_seconds"]))],
        ["Throughput (audio s per wall s)", num_cell(f"{s['throughput']:.2f}")],
    ]
    if cost := s.get("cost"):
        rows += [
            ["Estimated cost", num_cell(money(cost))],
            ["Audio hours billed (estimate)", num_cell(f"{cost['audio_hours']:.4f}")],
            [
                "Price per audio hour",
                num_cell(f"{cost['price_per_hour']:g} {cost.get('currency', '')}".strip()),
            ],
        ]
    return ["<h2>All counts</h2>", table(["", ""], rows, table_id="totals")]


def transcripts(view: Page) -> list[str]:
    files = view.summary.get("transcripts", {})
    if not files:
        return []
    body = [
        [
            file_cell(source),
            " ".join(f'<a href="{escape(report_link(p))}">{escape(p.rsplit(".", 1)[-1])}</a>' for p in paths),
        ]
        for source, paths in sorted(files.items())
    ]
    return [f"<h2>Transcripts ({len(files)})</h2>", table(["File", "Outputs"], body, table_id="transcripts")]


def settings(view: Page) -> list[str]:
    rows = [[escape(label), text_cell(value)] for label, value in readable_settings(view.summary["settings"])]
    return ["<h2>Settings</h2>", table(["Setting", "Value"], rows, table_id="settings")]


def _tone(summary: Mapping[str, Any]) -> str:
    if summary["aborted"] or summary["counts"]["failed"]:
        return "bad"
    return "stopped" if summary["interrupted"] or summary["stop_reason"] else "ok"


Section = Callable[[Page], list[str]]


def digest(view: Page) -> list[str]:
    """With --summarize: each recording's summary and action items, the night's topics."""
    return digest_html(view.summary)


SECTIONS: tuple[Section, ...] = (
    glance, failures, still_failing, flagged, digest, warnings, cancelled, retries,
    history, timeline, slowest, resources, totals, transcripts, settings,
)  # fmt: skip
