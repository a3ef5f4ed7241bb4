"""The command line: parse options, build settings, call the library, render the result.

No SDK import and no business logic here. Every ``BatchscribeError`` becomes one line on stderr
with its fix and the error's exit code; a traceback only with ``--verbose``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from batchscribe import __version__
from batchscribe.cli.emulator import emulator_app
from batchscribe.cli.exits import OneLineErrors, run_main
from batchscribe.cli.help_text import ReadableGroup, ReadableHelp, make_app_readable
from batchscribe.cli.options import Out, takes_run_options
from batchscribe.cli.terminal import TerminalStream
from batchscribe.errors import EXIT_FILES_FAILED, UsageError
from batchscribe.names import shown
from batchscribe.outputs.layout import OutFolder

app = typer.Typer(
    help="Transcribe folders of recordings with Azure AI Speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
make_app_readable(emulator_app)
app.add_typer(emulator_app, name="emulator", cls=ReadableGroup)

_stderr = Console(stderr=True, highlight=False, file=TerminalStream("stderr"))  # type: ignore[arg-type]


@app.command(cls=ReadableHelp)
@takes_run_options
def run(ctx: typer.Context) -> None:
    """Transcribe every recording under INPUTS (or of every job in --jobs) not done yet.

    Writes JSON and text per recording (subtitles too with --formats json,txt,srt,vtt) and a
    summary per run under OUT/_runs/.
    With --jobs, every option given applies to every job, over the file's values. Exit codes:
    0 all done, 1 some files failed, 2 usage error, 3 run aborted (e.g. no Speech resource
    usable), 130 interrupted.
    """
    from batchscribe.cli.asked import asked, settings_for
    from batchscribe.cli.session import run_all

    request = asked(ctx)
    code = run_all(
        settings_for(request),
        stderr=_stderr,
        log_format=request.log_format,
        log_file=request.log_file,
        quiet=request.quiet,
        verbose=request.verbose,
        keep_runs=request.keep_runs,
    )
    raise typer.Exit(code)


@app.command(cls=ReadableHelp)
@takes_run_options
def plan(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, one object per job.")] = False,
) -> None:
    """Show what `run` would do with the same options, without doing it.

    Per job: new, changed, done, failed-before and not-settled files, the audio hours to
    transcribe and their estimated cost at --price-per-hour, the sessions its Speech resources
    allow at once and the night's estimated wall time; with --summarize, the summaries to make
    and their estimated tokens and cost. Needs no credentials.
    """
    from batchscribe.cli.asked import asked, settings_for
    from batchscribe.planning.planner import preview
    from batchscribe.report.plan_table import plan_row, render_plan
    from batchscribe.resources.batch_setup import check_sign_in as check_batch_sign_in
    from batchscribe.resources.fast_setup import check_settings as check_engine_settings
    from batchscribe.resources.fast_setup import plan_notes
    from batchscribe.running.split_plan import ONE_SESSION_REASON, split_options, split_summary

    every = settings_for(asked(ctx), credentials=False)  # planning needs no service
    rows = []
    for settings in every:
        check_engine_settings(settings)
        check_batch_sign_in(settings)
        planned = preview(settings)
        for note in planned.notes:
            _stderr.print(f"[yellow]warning:[/yellow] {escape(shown(note))}", markup=True, soft_wrap=True)
        for note in plan_notes(settings):  # what the engine cannot do, said once
            _stderr.print(f"engine {settings.engine}: {escape(note)}", markup=True, soft_wrap=True)
        split = split_summary(planned.items, split_options(settings), settings.capacity)
        rows.append(plan_row(settings, planned, split))
        if settings.engine == "batch":  # uploads, jobs, and what is already at the service
            from batchscribe.planning.batch_plan import batch_plan

            rows[-1]["batch"] = batch_plan(settings, planned)
    render_plan(rows, Console(highlight=False), as_json=as_json)
    if not as_json:
        from batchscribe.planning.batch_plan import batch_plan_line

        for row in (r for r in rows if "batch" in r):
            line = f"{row['job']}: {batch_plan_line(row['batch'])}"
            Console(highlight=False).print(line, soft_wrap=True)
    if not as_json and any(row["one_session"] for row in rows):
        Console(highlight=False).print(f"one session: {ONE_SESSION_REASON}", soft_wrap=True)


@app.command(cls=ReadableHelp)
@takes_run_options
def doctor(ctx: typer.Context) -> None:
    """Check that a run with the same options can work: one line per check, exit 1 when one fails.

    Credentials, each Speech resource (a one-second silent probe session), the output folder,
    the decoder, the state and the lock; with --jobs, for each job.
    """
    from batchscribe.cli.asked import asked, settings_for
    from batchscribe.doctor import run_checks

    failed = 0
    console = Console(highlight=False)
    request = asked(ctx)
    bare = settings_for(request, credentials=False, need_inputs=False)  # every check but the service's
    try:
        all_settings, missing = settings_for(request, need_inputs=False), None
    except UsageError as exc:  # e.g. no key: one failed line, and every other check still runs
        all_settings, missing = bare, exc
    for settings in all_settings:
        if settings.job_name:
            console.print(f"job {shown(settings.job_name)}", markup=False)
        for check in run_checks(settings, missing):
            mark = "[green]ok  [/green]" if check.ok else "[red]FAIL[/red]"
            hint = f" ({check.hint})" if check.hint and not check.ok else ""
            console.print(f"{mark} {check.name:<14} {escape(shown(check.detail + hint))}", soft_wrap=True)
            failed += not check.ok
    raise typer.Exit(EXIT_FILES_FAILED if failed else 0)


@app.command(cls=ReadableHelp)
def report(
    run_dir: Annotated[
        str | None, typer.Argument(help="A run id or folder (default: the latest run).", show_default=False)
    ] = None,
    out: Out = None,
    open_html: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
    list_runs: Annotated[bool, typer.Option("--list", help="List the runs that have a report.")] = False,
    history: Annotated[bool, typer.Option(
        "--history", help="Compare the kept runs: recordings, audio, failures, flagged, cost, speed."
    )] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --history: the numbers as JSON.")] = False,
) -> None:  # fmt: skip
    """Print a run's summary again (the latest by default); --open shows its HTML report."""
    from batchscribe.config.schema import JobSpec
    from batchscribe.report.console import render_saved_summary
    from batchscribe.report.history_view import history_json, render_history
    from batchscribe.report.runs_list import list_reports
    from batchscribe.report.store import REPORT_HTML, SUMMARY_MD

    out = out or Path(JobSpec.model_fields["out"].default)
    if as_json and not history:
        raise UsageError("--json goes with --history", hint="batchscribe report --history --json")
    if history:
        if as_json:
            sys.stdout.write(history_json(out))
        else:
            render_history(out, Console(highlight=False))
        return
    if list_runs:
        list_reports(out, Console(highlight=False))
        return
    folder = _find_run(run_dir, out)
    console = Console(highlight=False)
    render_saved_summary(folder, console)  # a hand-edited summary.json: one usage line
    for label, name in (("summary", SUMMARY_MD), ("report", REPORT_HTML)):  # where the details are
        if (folder / name).is_file():
            console.print(Text(f"{label}: {folder.resolve() / name}"), soft_wrap=True)
    if open_html:
        import webbrowser

        page = (folder / "report.html").resolve().as_uri()
        if not webbrowser.open(page):
            typer.echo(f"no browser found; open {page}")


def _find_run(run: str | None, out: Path) -> Path:
    from batchscribe.report.store import SUMMARY_JSON, latest_run_dir

    if run is None:
        latest = latest_run_dir(out)
        if latest is None:
            raise UsageError(f"no runs found under {out}", hint="pass --out with the folder a run wrote to")
        return latest
    for candidate in (Path(run), OutFolder(out).runs_dir / run):
        if (candidate / SUMMARY_JSON).is_file():
            return candidate
    runs = OutFolder(out).runs_dir
    raise UsageError(f"no run {run!r} found", hint=f"give a folder under {runs} or its run id")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"batchscribe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:  # fmt: skip
    """Transcribe folders of recordings with Azure AI Speech."""


def main() -> None:
    """The ``batchscribe`` console script."""
    run_main(app)
