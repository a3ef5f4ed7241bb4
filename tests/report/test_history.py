"""History across nights: the rows read from kept runs, the terminal view, --json, the HTML charts."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ElementTree
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.report import write_report
from batchscribe.report.charts import bar, history_svg, spark
from batchscribe.report.history import history_rows
from batchscribe.report.history_view import render_history
from tests.report.test_report import START, make_run, succeeded

PAID = {"price_per_hour": 2.0, "currency": "EUR", "endpoint": "region:westeurope", "out": ""}


def nights(out: Path) -> list[str]:
    """Three nights: a v1 summary from before this history, then two with 3 and 1 recordings."""
    old = out / "_runs" / "20261119T020000000Z-0001"
    old.mkdir(parents=True)
    (old / "summary.json").write_text(
        json.dumps({
            "schema_version": 1, "run_id": old.name, "started_at": "2026-11-19T02:00:00Z", "exit_code": 0,
            "counts": {"succeeded": 5, "failed": 0, "cancelled": 0}, "audio_seconds": 7200.0,
            "wall_seconds": 600.0, "throughput": 12.0, "cost": {"estimated": 4.0}, "settings": {},
        }),
        encoding="utf-8",
    )  # fmt: skip
    ids = []
    for day, files in ((20, make_run().files), (21, (succeeded("x.wav"),))):
        run = make_run(
            run_id=f"202611{day}T020000000Z-000{day - 18}",
            started_at=START.replace(day=day),
            ended_at=START.replace(day=day) + timedelta(seconds=60),
            settings={**PAID, "out": str(out)},
            files=files,
        )
        write_report(run, out)
        ids.append(run.run_id)
    return [old.name, *ids]


def test_history_rows_read_every_kept_run_oldest_first(tmp_path: Path) -> None:
    ids = nights(tmp_path)
    rows = history_rows(tmp_path)
    assert [r["run_id"] for r in rows] == ids
    old, second, last = rows
    assert (old["recordings"], old["audio_hours"], old["failures"], old["cost"]) == (5, 2.0, 0, 4.0)
    assert old["flagged"] is None and old["currency"] is None  # v1 did not say: no made-up 0
    assert (second["recordings"], second["failures"], second["audio_hours"]) == (4, 1, 0.0333)
    assert (second["cost"], second["currency"], second["flagged"]) == (0.07, "EUR", 0)
    assert (last["recordings"], last["wall_seconds"], last["throughput"]) == (1, 60.0, 1.0)


def test_an_emulated_run_has_no_cost_in_the_history(tmp_path: Path) -> None:
    write_report(make_run(settings={"endpoint": "emulator", "price_per_hour": 1.0}), tmp_path)
    (row,) = history_rows(tmp_path)
    assert row["cost"] is None and row["emulated"] is True


def test_report_html_draws_the_history_as_inline_svg_charts(tmp_path: Path) -> None:
    ids = nights(tmp_path)
    page = (tmp_path / "_runs" / ids[-1] / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="history"') :]
    section = section[: section.index("</div>")]
    charts = section.split("</svg>")[:-1]
    titles = [c[c.index('font-weight="bold">') + 19 : c.index("</text>")] for c in charts]
    assert titles == ["Recordings", "Audio hours", "Failures", "Flagged recordings", "Cost (EUR)",
                      "Throughput (audio s per wall s)"]  # fmt: skip
    recordings = ElementTree.fromstring(charts[0][charts[0].index("<svg") :] + "</svg>")
    bars = recordings.findall("{http://www.w3.org/2000/svg}rect")
    assert [b.find("{http://www.w3.org/2000/svg}title").text for b in bars] == [  # type: ignore[union-attr]
        "2026-11-19 02:00: 5", "2026-11-20 02:00: 4", "2026-11-21 02:00: 1",
    ]  # fmt: skip
    assert [b.get("fill") for b in bars] == ["#90caf9", "#90caf9", "#1565c0"]  # this run is dark
    flagged = charts[3]
    assert flagged.count("<rect") == 2  # the v1 night has no number: no bar, not a 0
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_one_run_has_no_history_section(tmp_path: Path) -> None:
    folder = write_report(make_run(settings={**PAID, "out": str(tmp_path)}), tmp_path)
    assert 'id="history"' not in (folder / "report.html").read_text(encoding="utf-8")


def test_bars() -> None:
    assert bar(None, 10) == "" and bar(1, 0) == ""
    assert bar(10, 10, 4) == "████" and bar(5, 10, 4) == "██"
    assert bar(1, 8, 1) == "▏" and bar(10, 10, 4, ascii_only=True) == "####"
    assert history_svg([], "recordings", "Recordings").count("<rect") == 0
    assert (
        spark([0, 5, 10, None]) == "▁▅█ " and spark([0, 0]) == "▁▁" and spark([1, 2], ascii_only=True) == "+@"
    )


def test_report_history_piped_is_plain_ascii_and_json_is_data(tmp_path: Path) -> None:
    nights(tmp_path)
    cli = CliRunner()
    plain = cli.invoke(app, ["report", "--history", "--out", str(tmp_path)])
    assert plain.exit_code == 0, plain.output
    lines = plain.output.splitlines()
    assert lines[0].split()[:3] == ["Started", "UTC", "Recordings"]
    assert lines[1].startswith("2026-11-21 02:00") and lines[-1].startswith(
        "2026-11-19 02:00"
    )  # newest first
    assert "5 ########" in lines[-1] and "0.07 EUR" in lines[2]
    assert plain.output.isascii()
    as_json = cli.invoke(app, ["report", "--history", "--json", "--out", str(tmp_path)])
    assert as_json.exit_code == 0, as_json.output
    runs = json.loads(as_json.output)["runs"]
    assert [r["recordings"] for r in runs] == [5, 4, 1] and runs[0]["flagged"] is None
    alone = cli.invoke(app, ["report", "--json", "--out", str(tmp_path)])
    assert alone.exit_code == 2 and "--json goes with --history" in alone.output
    empty = cli.invoke(app, ["report", "--history", "--out", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "no runs found" in empty.output


def test_report_history_in_a_terminal_draws_unicode_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    nights(tmp_path)
    stream = io.StringIO()
    render_history(tmp_path, Console(file=stream, force_terminal=True, width=80, color_system=None))
    lines = stream.getvalue().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80 and "…" not in stream.getvalue()
    assert lines[0].startswith("Runs under ") and "in 2026 (newest first)" in " ".join(
        " ".join(lines).split()
    )
    assert next(line for line in lines if line.startswith("11-21")).split() == [
        "11-21",
        "02:00",
        "1",
        "0.02",
        "0",
        "0",
        "0",
        "0.03",
        "EUR",
        "1.0x",
        "0:01:00",
    ]
    assert "  Recordings         █▇▂  1" in lines  # oldest to newest: 5, 4, 1
    assert "  Flagged recordings  ▁▁  0" in lines  # the first night did not count: a blank
