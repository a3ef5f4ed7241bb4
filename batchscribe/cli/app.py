"""The command line: parse options, build settings, call the library, render the result.

No SDK import and no business logic here. Every ``BatchscribeError`` becomes one line on stderr
with its fix and the error's exit code; a traceback only with ``--verbose``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from batchscribe import __version__
from batchscribe.cli.asked import asked, settings_for
from batchscribe.cli.help_text import ReadableHelp
from batchscribe.cli.options import Out, takes_run_options
from batchscribe.config.schema import JobSpec
from batchscribe.emulator.cli import emulator_app
from batchscribe.errors import EXIT_ABORTED, EXIT_FILES_FAILED, EXIT_INTERRUPTED, BatchscribeError, UsageError
from batchscribe.names import shown
from batchscribe.outputs.layout import OutFolder
from batchscribe.report import SUMMARY_JSON, latest_run_dir
from batchscribe.report.console import render_saved_summary
from batchscribe.report.history_view import history_json, render_history
from batchscribe.report.runs_list import list_reports

app = typer.Typer(
    help="Transcribe folders of recordings with Azure AI Speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(emulator_app, name="emulator")

_stderr = Console(stderr=True, highlight=False)


@contextmanager
def _errors_to_exit(verbose: bool = False) -> Iterator[None]:
    """One clear line per error, never a traceback (unless --verbose)."""
    try:
        yield
    except BatchscribeError as exc:
        _stderr.print(f"[red]error:[/red] {escape(shown(exc.one_line()))}", markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if verbose:
            _stderr.print_exception()
        _stderr.print(
            f"[red]internal error:[/red] {escape(shown(repr(exc)))} (run again with --verbose and report it)",
            markup=True, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(EXIT_ABORTED) from None


@app.command(cls=ReadableHelp)
@takes_run_options
def run(ctx: typer.Context) -> None:
    """Transcribe every recording under INPUTS (or of every job in --jobs) not done yet.

    Writes JSON, text and subtitles per recording and a summary per run under OUT/_runs/.
    With --jobs, every option given applies to every job, over the file's values. Exit codes:
    0 all done, 1 some files failed, 2 usage error, 3 run aborted (e.g. no Speech resource
    usable), 130 interrupted.
    """
    from batchscribe.cli.session import run_all

    with _errors_to_exit(bool(ctx.params.get("verbose"))):
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
    from batchscribe.planning.planner import preview
    from batchscribe.report.plan_table import plan_row, render_plan
    from batchscribe.running.chunks import ONE_SESSION_REASON, split_summary
    from batchscribe.running.run import split_options

    with _errors_to_exit(bool(ctx.params.get("verbose"))):
        every = settings_for(asked(ctx), credentials=False)  # planning needs no service
        rows = []
        for settings in every:
            planned = preview(settings)
            for note in planned.notes:
                _stderr.print(f"[yellow]warning:[/yellow] {escape(shown(note))}", markup=True, soft_wrap=True)
            split = split_summary(planned.items, split_options(settings), settings.workers)
            rows.append(plan_row(settings, planned, split))
        render_plan(rows, Console(highlight=False), as_json=as_json)
        if not as_json and any(row["one_session"] for row in rows):
            Console(highlight=False).print(f"one session: {ONE_SESSION_REASON}", soft_wrap=True)


@app.command(cls=ReadableHelp)
@takes_run_options
def doctor(ctx: typer.Context) -> None:
    """Check that a run with the same options can work: one line per check, exit 1 when one fails.

    Credentials, each Speech resource (a one-second silent probe session), the output folder,
    the decoder, the state and the lock; with --jobs, for each job.
    """
    from batchscribe.doctor import run_checks

    with _errors_to_exit(bool(ctx.params.get("verbose"))):
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
    with _errors_to_exit():
        out = out or Path(JobSpec().out)
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
        render_saved_summary(folder, Console(highlight=False))
        if open_html:
            import webbrowser

            page = (folder / "report.html").resolve().as_uri()
            if not webbrowser.open(page):
                typer.echo(f"no browser found; open {page}")


def _find_run(run: str | None, out: Path) -> Path:
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
    from batchscribe.engines.reaper import exit_without_abort

    code: int | str | None = 0
    try:
        app()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except SystemExit as exc:
        code = exc.code
    exit_without_abort(code)  # never SIGABRT from SDK threads still alive at shutdown
