"""The command line: parse options, build settings, call the library, render the result.

No SDK import and no business logic here. Every ``BatchscribeError`` becomes one line on stderr
with its fix and the error's exit code; a traceback only with ``--verbose``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from batchscribe import __version__
from batchscribe.cli.options import (
    DEFAULT_OUT,
    PRICE,
    Channels,
    Diarize,
    Emulate,
    EmulatorSpeed,
    EmulatorTranscripts,
    EndpointId,
    EndpointUrl,
    Exclude,
    Force,
    Formats,
    Host,
    Include,
    Inputs,
    Job,
    JobsFile,
    KeyFile,
    Language,
    Languages,
    LogFile,
    LogFormat,
    MaxCost,
    MaxHours,
    MaxRuntime,
    MaxRuntimeGrace,
    Out,
    Phrases,
    PricePerHour,
    Profanity,
    Quiet,
    Region,
    Retries,
    RetryFailed,
    SdkSendRate,
    Settle,
    Simple,
    StallTimeout,
    Timestamps,
    Verbose,
    WordTimestamps,
    Workers,
    check_log_format,
    settings_from_params,
)
from batchscribe.emulator.cli import emulator_app
from batchscribe.errors import EXIT_ABORTED, EXIT_FILES_FAILED, EXIT_INTERRUPTED, BatchscribeError, UsageError
from batchscribe.names import shown
from batchscribe.outputs.layout import OutFolder
from batchscribe.report import SUMMARY_JSON, latest_run_dir, load_summary, render_console_summary

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


@app.command()
def run(
    ctx: typer.Context,
    inputs: Inputs = None, out: Out = DEFAULT_OUT, include: Include = None, exclude: Exclude = None,
    settle: Settle = 0.0, formats: Formats = None, timestamps: Timestamps = False, force: Force = False,
    retry_failed: RetryFailed = False, jobs_file: JobsFile = None, job: Job = None,
    language: Language = "en-US", languages: Languages = None, word_timestamps: WordTimestamps = False,
    simple: Simple = False, profanity: Profanity = "masked", phrases: Phrases = None,
    endpoint_id: EndpointId = "", diarize: Diarize = False, channels: Channels = "mix",
    key_file: KeyFile = None, region: Region = None, endpoint: EndpointUrl = None, host: Host = None,
    emulate: Emulate = False, emulator_transcripts: EmulatorTranscripts = None,
    emulator_speed: EmulatorSpeed = None, sdk_send_rate: SdkSendRate = None,
    workers: Workers = 8, retries: Retries = 3, stall_timeout: StallTimeout = 60.0,
    max_hours: MaxHours = None, max_cost: MaxCost = None, price_per_hour: PricePerHour = PRICE,
    max_runtime: MaxRuntime = None, max_runtime_grace: MaxRuntimeGrace = 600.0,
    log_format: LogFormat = "text", log_file: LogFile = None, quiet: Quiet = False, verbose: Verbose = False,
) -> None:  # fmt: skip
    """Transcribe every recording under INPUTS (or of every job in --jobs) not done yet.

    Writes JSON, text and subtitles per recording and a summary per run under OUT/_runs/.
    With --jobs, only --force, --retry-failed and the logging options apply from the command
    line. Exit codes: 0 all done, 1 some files failed, 2 usage error, 3 run aborted,
    130 interrupted.
    """
    from batchscribe.cli.session import run_all

    with _errors_to_exit(verbose):
        check_log_format(log_format)
        all_settings = settings_from_params(ctx.params)
        code = run_all(
            all_settings,
            stderr=_stderr,
            log_format=log_format,
            log_file=log_file,
            quiet=quiet,
            verbose=verbose,
        )
    raise typer.Exit(code)


@app.command()
def plan(
    ctx: typer.Context,
    inputs: Inputs = None, out: Out = DEFAULT_OUT, include: Include = None, exclude: Exclude = None,
    settle: Settle = 0.0, formats: Formats = None, force: Force = False, retry_failed: RetryFailed = False,
    jobs_file: JobsFile = None, job: Job = None,
    language: Language = "en-US", languages: Languages = None, word_timestamps: WordTimestamps = False,
    simple: Simple = False, profanity: Profanity = "masked", phrases: Phrases = None,
    endpoint_id: EndpointId = "", diarize: Diarize = False, channels: Channels = "mix",
    price_per_hour: PricePerHour = PRICE, max_hours: MaxHours = None, max_cost: MaxCost = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, one object per job.")] = False,
) -> None:  # fmt: skip
    """Show what `run` would do, without doing it.

    Per job: new, changed, done, failed-before and not-settled files, the audio hours to
    transcribe and their estimated cost at --price-per-hour. Needs no credentials.
    """
    from batchscribe.pipeline.planner import preview

    with _errors_to_exit():
        # Planning needs no service: the settings that only matter when transcribing are left out.
        unused = {"key_file": None, "region": None, "endpoint": None, "host": None, "timestamps": False,
                  "emulator_transcripts": None, "emulator_speed": None, "sdk_send_rate": None, "workers": 1,
                  "retries": 0, "stall_timeout": 60.0, "max_runtime": None}  # fmt: skip
        params = {**ctx.params, **unused, "emulate": True}
        rows = []
        for settings in settings_from_params({k: v for k, v in params.items() if k != "as_json"}):
            planned = preview(settings)
            for note in planned.notes:
                _stderr.print(f"[yellow]warning:[/yellow] {escape(shown(note))}", markup=True, soft_wrap=True)
            hours = planned.audio_seconds / 3600
            rows.append({
                "job": settings.job_name or ", ".join(str(p) for p in settings.inputs),
                "new": planned.counts.new, "changed": planned.counts.changed,
                "done": planned.counts.skipped_done, "rerender": planned.counts.rerendered,
                "failed_before": planned.counts.failed_before,
                "not_settled": planned.counts.not_settled, "to_do": len(planned.items),
                "audio_hours": round(hours, 4), "estimated_cost": round(hours * settings.price_per_hour, 2),
            })  # fmt: skip
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table(title="Plan", title_justify="left")
        for column in rows[0] if rows else ():
            table.add_column(column.replace("_", " "), justify="left" if column == "job" else "right",
                             overflow="fold")  # fmt: skip
        for row in rows:
            cells = (f"{v:.2f}" if isinstance(v, float) else shown(str(v)) for v in row.values())
            table.add_row(*map(Text, cells))  # Text: a folder named [/x] is not markup
        Console(highlight=False).print(table)


@app.command()
def doctor(
    ctx: typer.Context,
    out: Out = DEFAULT_OUT, language: Language = "en-US", key_file: KeyFile = None, region: Region = None,
    endpoint: EndpointUrl = None, host: Host = None, emulate: Emulate = False,
    jobs_file: JobsFile = None, job: Job = None,
) -> None:  # fmt: skip
    """Check that a run can work: one line per check, exit 1 when one fails.

    Credentials, the endpoint (a one-second silent probe session), the output folder, the
    decoder, the state and the lock.
    """
    from batchscribe.pipeline.doctor import run_checks

    with _errors_to_exit():
        defaults = {"inputs": [Path()], "include": None, "exclude": None, "settle": 0.0, "formats": None,
                    "timestamps": False, "languages": None, "word_timestamps": False, "simple": False,
                    "profanity": "masked", "phrases": None, "endpoint_id": "", "diarize": False,
                    "channels": "mix", "emulator_transcripts": None, "emulator_speed": None,
                    "sdk_send_rate": None, "workers": 1,
                    "retries": 0, "stall_timeout": 15.0, "max_hours": None, "max_cost": None,
                    "price_per_hour": PRICE, "max_runtime": None}  # fmt: skip
        failed = 0
        console = Console(highlight=False)
        for settings in settings_from_params({**defaults, **ctx.params}):
            if settings.job_name:
                console.print(f"job {shown(settings.job_name)}", markup=False)
            for check in run_checks(settings):
                mark = "[green]ok  [/green]" if check.ok else "[red]FAIL[/red]"
                hint = f" ({check.hint})" if check.hint and not check.ok else ""
                console.print(f"{mark} {check.name:<14} {escape(shown(check.detail + hint))}", soft_wrap=True)
                failed += not check.ok
    raise typer.Exit(EXIT_FILES_FAILED if failed else 0)


@app.command()
def report(
    run_dir: Annotated[
        str | None, typer.Argument(help="A run id or folder (default: the latest run).", show_default=False)
    ] = None,
    out: Out = DEFAULT_OUT,
    open_html: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
) -> None:  # fmt: skip
    """Print a run's summary again (the latest by default); --open shows its HTML report."""
    with _errors_to_exit():
        folder = _find_run(run_dir, out)
        render_console_summary(load_summary(folder), Console(highlight=False))
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
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
