"""The building blocks of report.html: its style sheet, tables in their own scroll box, cells.

Every cell helper escapes what it is given; ``table`` takes cells that are HTML already. File names
get a break opportunity after each ``/`` and ``_`` (not ``-``: dates stay whole), so a long path
wraps between its parts, never inside a word; a table too wide for a narrow window scrolls inside
its own box, never the page. The print rules drop the scroll boxes and keep a table row on one page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem;
       line-height: 1.4; color: #1a1a1a; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.headline { font-size: 1.1rem; font-weight: 600; padding: .5rem .75rem; border-radius: 4px; }
.ok { background: #e8f5e9; } .bad { background: #ffebee; } .stopped { background: #fff8e1; }
.glance { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .5rem;
          margin: .75rem 0; }
.glance div { border: 1px solid #ddd; border-radius: 4px; padding: .4rem .6rem; }
.glance b { display: block; font-size: 1.25rem; font-variant-numeric: tabular-nums; }
.glance span { color: #555; font-size: .85rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; vertical-align: top; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.file, code { font-family: ui-monospace, monospace; }
td.file { min-width: 12ch; } .part { white-space: nowrap; }
td.text { min-width: 14ch; }
td.text, td.heard, th.cause { overflow-wrap: anywhere; }  /* ids and flags in messages: not names */
.heard { font-style: italic; }
td.heard { min-width: 14ch; max-width: 32rem; }
.sev-high { color: #b71c1c; font-weight: 600; } .sev-medium { color: #e65100; } .sev-low { color: #555; }
ul.files { margin: .25rem 0 .75rem; padding-left: 1.2rem; font-family: ui-monospace, monospace; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem 2rem; }
svg { max-width: 100%; height: auto; }
.timeline svg { min-width: 40rem; max-width: none; }
.muted { color: #666; }
th.cause { font-weight: normal; background: #fafafa; } th.cause b, th.cause code { font-weight: 600; }
@media (max-width: 40rem) {
  body { padding: 0 .5rem; margin: 1rem auto; }
  th, td { padding: .25rem .35rem; }
  td.file { min-width: 9ch; } td.text, td.heard { min-width: 10ch; }
}
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .scroll { overflow: visible; } .timeline svg { min-width: 0; max-width: 100%; }
  tr, .glance div, svg, .cause { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def name_html(source: str) -> str:
    """A file name, escaped, that may wrap after ``/`` or ``_`` and nowhere else: each part is
    kept whole (a browser would also break after ``-``, inside a date), a ``<wbr>`` between."""
    parts = re.findall(r"[^/_]*[/_]|[^/_]+$", source)
    return "<wbr>".join(f'<span class="part">{escape(part)}</span>' for part in parts)


def file_cell(source: str) -> str:
    return f'<td class="file">{name_html(source)}</td>'


def num_cell(value: object) -> str:
    return f'<td class="num">{escape(str(value))}</td>'


def text_cell(value: object) -> str:
    return f'<td class="text">{escape(str(value))}</td>'


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, table_id: str = "") -> str:
    """A table in its own scroll box. Cells are HTML already (callers escape); header labels are ours."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(cell if cell.startswith(("<td", "<th")) else f"<td>{cell}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    ident = f' id="{table_id}"' if table_id else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""  # no empty row over key-values
    return f'<div class="scroll"><table{ident}>{thead}<tbody>{body}</tbody></table></div>'


def page(title: str, body: Sequence[str], csp: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
