"""The command line: parse options, build settings, call the library, render the result.

No SDK import and no business logic here. Every ``BatchscribeError`` becomes one line on stderr
with its fix and the error's exit code; a traceback only with ``--verbose``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import IO, Annotated

import typer
from rich.console import Console

from batchscribe import __version__
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import EXIT_ABORTED, EXIT_INTERRUPTED, BatchscribeError, RunAbortedError, UsageError
from batchscribe.jobs import job_settings, load_jobs
from batchscribe.progress import Fanout, LineLog, LiveView
from batchscribe.redact import Redactor
from batchscribe.report import latest_run_dir, load_summary, render_console_summary
from batchscribe.runner import RunEvents
from batchscribe.settings import OUTPUT_FORMATS, Endpoint, RunSettings, read_phrase_list, resolve_endpoint

app = typer.Typer(
    help="Transcribe folders of recordings with Azure AI Speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
try:  # TEMP until the emulator CLI lands
    from batchscribe.emulator.cli import emulator_app

    app.add_typer(emulator_app, name="emulator")
except ImportError:
    pass

_stderr = Console(stderr=True, highlight=False)


@contextmanager
def _errors_to_exit(verbose: bool = False) -> Iterator[None]:
    """One clear line per error, never a traceback (unless --verbose)."""
    try:
        yield
    except BatchscribeError as exc:
        _stderr.print(f"[red]error:[/red] {exc.one_line()}", markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if verbose:
            _stderr.print_exception()
        _stderr.print(
            f"[red]internal error:[/red] {exc!r} (run again with --verbose and report it)",
            markup=True, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(EXIT_ABORTED) from None


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Options that take lists accept both repetition and commas: --formats json,srt."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


@contextmanager
def _signals_cancel(cancel: CancelToken) -> Iterator[None]:
    """First SIGINT/SIGTERM cancels the run gracefully; a second one exits at once."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if cancel.is_cancelled():
            os._exit(EXIT_INTERRUPTED)
        _stderr.print("interrupted: finishing up (press Ctrl-C again to quit at once)")
        cancel.cancel("interrupted")

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command()
def run(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="Files and folders to transcribe (recursively).", show_default=False),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder; the input tree is mirrored under it.")
    ] = Path("transcripts"),
    workers: Annotated[int, typer.Option(help="Recognition sessions at most at once.")] = 8,
    retries: Annotated[
        int, typer.Option(help="Retries per file for transient errors (throttling, network).")
    ] = 3,
    stall_timeout: Annotated[
        float, typer.Option(help="Cancel and retry a session that gets no answer for this many seconds.")
    ] = 60.0,
    language: Annotated[str, typer.Option(help="Recognition language (BCP-47).")] = "en-US",
    languages: Annotated[
        list[str] | None,
        typer.Option(
            help="Identify the language among these (up to 10, comma-separated) instead of --language."
        ),
    ] = None,
    formats: Annotated[
        list[str] | None, typer.Option(help=f"Outputs per file, any of {','.join(OUTPUT_FORMATS)}.")
    ] = None,
    timestamps: Annotated[bool, typer.Option(help="Prefix each line of the .txt with [hh:mm:ss].")] = False,
    word_timestamps: Annotated[bool, typer.Option(help="Add word timings to the JSON.")] = False,
    simple: Annotated[
        bool, typer.Option(help="Simple output format (no NBest/confidence) instead of detailed.")
    ] = False,
    profanity: Annotated[str, typer.Option(help="masked, removed or raw.")] = "masked",
    phrases: Annotated[
        Path | None, typer.Option(help="Phrase list file (names, jargon), one per line.")
    ] = None,
    endpoint_id: Annotated[str, typer.Option(help="Custom speech model endpoint id.")] = "",
    diarize: Annotated[bool, typer.Option(help="Label speakers (conversation transcription).")] = False,
    channels: Annotated[
        str, typer.Option(help="mix: mix channels down; separate: one session per channel.")
    ] = "mix",
    include: Annotated[
        list[str] | None, typer.Option(help="Only files matching this glob (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Skip files matching this glob (repeatable).")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Read the Speech key from this file (instead of SPEECH_KEY).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Azure region (instead of SPEECH_REGION).")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Custom-domain or private endpoint URL.")] = None,
    host: Annotated[
        str | None, typer.Option(help="Speech container host, e.g. ws://localhost:5000 (key optional).")
    ] = None,
    emulate: Annotated[
        bool, typer.Option(help="Use the built-in local stand-in for the Speech service.")
    ] = False,
    emulator_transcripts: Annotated[
        Path | None, typer.Option(help="With --emulate: the emulator's transcripts file.")
    ] = None,
    emulator_speed: Annotated[
        float | None, typer.Option(help="With --emulate: answer at this many times real time.")
    ] = None,
    sdk_send_rate: Annotated[
        float | None,
        typer.Option(
            help="Advanced: let the SDK send audio at this many times real time (default: the SDK's own 2x)."
        ),
    ] = None,
    max_hours: Annotated[
        float | None, typer.Option(help="Stop scheduling after this many audio hours.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop scheduling when the estimated cost reaches this.")
    ] = None,
    price_per_hour: Annotated[float, typer.Option(help="Price per audio hour used for --max-cost.")] = 1.0,
    max_runtime: Annotated[
        float | None, typer.Option(help="Stop scheduling new files after this many seconds.")
    ] = None,
    settle: Annotated[
        float, typer.Option(help="Leave files modified in the last N seconds for the next run.")
    ] = 0.0,
    log_format: Annotated[str, typer.Option(help="text or json (one object per line).")] = "text",
    log_file: Annotated[Path | None, typer.Option(help="Also append log lines to this file.")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the final summary and failures.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.")] = False,
    force: Annotated[bool, typer.Option(help="Transcribe again even what is already done.")] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="Only the recordings that failed in earlier runs.")
    ] = False,
    jobs_file: Annotated[
        Path | None,
        typer.Option(
            "--jobs", help="Run the jobs of this YAML file (see jobs.example.yaml) instead of INPUTS."
        ),
    ] = None,
    job: Annotated[
        list[str] | None, typer.Option(help="With --jobs: only this job (repeatable); default all.")
    ] = None,
) -> None:
    """Transcribe every recording under INPUTS (or every job of --jobs) that is not done yet.

    Writes JSON, text and subtitles per recording and a summary per run. With --jobs, only
    --force, --retry-failed and the logging options apply from the command line.
    """
    with _errors_to_exit(verbose):
        if log_format not in ("text", "json"):
            raise UsageError(f"--log-format {log_format!r} is not known", hint="use text or json")
        if jobs_file is not None:
            if inputs:
                raise UsageError(
                    "give either INPUTS or --jobs, not both", hint="put the inputs in the jobs file"
                )
            jobs = load_jobs(jobs_file)
            all_settings = [
                replace(job_settings(jobs, name), force=force, retry_failed_only=retry_failed)
                for name in jobs.select(job or ())
            ]
            code = _run_all(
                all_settings, log_format=log_format, log_file=log_file, quiet=quiet, verbose=verbose
            )
            raise typer.Exit(code)
        if not inputs:
            raise UsageError(
                "nothing to transcribe",
                hint="give files or folders (batchscribe run ./recordings) or --jobs FILE",
            )
        if channels not in ("mix", "separate"):
            raise UsageError(
                f"--channels {channels!r} is not known", hint="use --channels mix or --channels separate"
            )
        if profanity not in ("masked", "removed", "raw"):
            raise UsageError(f"--profanity {profanity!r} is not known", hint="use masked, removed or raw")
        endpoint_settings = (
            Endpoint(kind="emulator", key="emulator")
            if emulate
            else resolve_endpoint(key_file=key_file, region=region, endpoint_url=endpoint, host_url=host)
        )
        language_list = _split(languages)
        if len(language_list) > 10:
            raise UsageError("--languages takes at most 10 languages", hint="keep the likeliest ten")
        settings = RunSettings(
            inputs=tuple(inputs),
            out=out,
            endpoint=endpoint_settings,
            options=RecognitionOptions(
                language=language,
                languages=language_list,
                detailed=not simple,
                word_timestamps=word_timestamps,
                profanity=profanity,
                phrases=read_phrase_list(phrases) if phrases else (),
                endpoint_id=endpoint_id,
                diarize=diarize,
            ),
            workers=workers,
            retries=retries,
            stall_timeout=stall_timeout,
            formats=_split(formats) or ("json", "txt"),
            timestamps=timestamps,
            channels="separate" if channels == "separate" else "mix",
            include=_split(include),
            exclude=_split(exclude),
            settle_seconds=settle,
            max_audio_hours=max_hours,
            max_cost=max_cost,
            price_per_hour=price_per_hour,
            max_runtime_s=max_runtime,
            sdk_send_rate=sdk_send_rate,
            emulator_transcripts=emulator_transcripts,
            emulator_speed=emulator_speed,
            force=force,
            retry_failed_only=retry_failed,
        )
        code = _run_all([settings], log_format=log_format, log_file=log_file, quiet=quiet, verbose=verbose)
    raise typer.Exit(code)


def _run_all(
    all_settings: list[RunSettings], *, log_format: str, log_file: Path | None, quiet: bool, verbose: bool
) -> int:
    """Run each job in turn; the exit code is the worst of them (130 once interrupted)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr)
    cancel = CancelToken()
    codes: list[int] = []
    with _open_log(log_file) as log_stream, _signals_cancel(cancel):
        for settings in all_settings:
            if cancel.is_cancelled():
                break
            if len(all_settings) > 1:
                _stderr.print(f"job {settings.job_name}: {', '.join(str(p) for p in settings.inputs)}")
            try:
                codes.append(
                    _run_one(settings, cancel, log_format=log_format, log_stream=log_stream, quiet=quiet)
                )
            except RunAbortedError as exc:  # e.g. the lock is held: the other jobs still run
                _stderr.print(f"[red]error:[/red] {exc.one_line()}", markup=True, soft_wrap=True)
                codes.append(exc.exit_code)
    if cancel.is_cancelled():
        return EXIT_INTERRUPTED
    return max(codes, default=0)


def _run_one(
    settings: RunSettings, cancel: CancelToken, *, log_format: str, log_stream: IO[str] | None, quiet: bool
) -> int:
    from batchscribe.pipeline import Plan, new_run_id, run_batch

    console = Console(highlight=False)
    redact = Redactor(settings.endpoint.secrets)
    run_id = new_run_id()
    live = console.is_terminal and not quiet and log_format == "text"
    json_lines = log_format == "json"
    sinks: list[RunEvents] = []
    if not live:
        sinks.append(LineLog(sys.stdout, run_id=run_id, json_lines=json_lines, quiet=quiet, redact=redact))
    if log_stream is not None:
        sinks.append(LineLog(log_stream, run_id=run_id, json_lines=json_lines, redact=redact))

    @contextmanager
    def events(plan: Plan) -> Iterator[RunEvents]:
        if not live:
            yield Fanout(sinks)
            return
        with LiveView(console, total_files=len(plan.items), total_audio_s=plan.audio_seconds) as view:
            yield Fanout([view, *sinks])

    result = run_batch(settings, events=events, cancel=cancel, run_id=run_id)
    if json_lines and not live:
        LineLog(sys.stdout, run_id=run_id, json_lines=True).emit(
            "summary", f"exit {result.exit_code}", important=True, exit_code=result.exit_code,
            summary=str(settings.out / "_runs" / run_id / "summary.json"),
        )  # fmt: skip
    else:
        render_console_summary(result, Console(highlight=False, no_color=not console.is_terminal))
    return result.exit_code


@contextmanager
def _open_log(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    try:
        stream = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot open the log file {path}: {exc.strerror}", hint="choose a writable --log-file"
        ) from exc
    with stream:
        yield stream


@app.command()
def report(
    run_dir: Annotated[
        str | None, typer.Argument(help="A run id or folder (default: the latest run).", show_default=False)
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The output folder the run wrote to.")] = Path(
        "transcripts"
    ),
    open_html: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
) -> None:
    """Print a run's summary again (the latest by default)."""
    with _errors_to_exit():
        folder = _find_run(run_dir, out)
        render_console_summary(load_summary(folder), Console(highlight=False))
        if open_html:
            import webbrowser

            webbrowser.open((folder / "report.html").resolve().as_uri())


def _find_run(run: str | None, out: Path) -> Path:
    if run is None:
        latest = latest_run_dir(out)
        if latest is None:
            raise UsageError(f"no runs found under {out}", hint="pass --out with the folder a run wrote to")
        return latest
    for candidate in (Path(run), out / "_runs" / run):
        if (candidate / "summary.json").is_file():
            return candidate
    raise UsageError(f"no run {run!r} found", hint=f"give a folder under {out / '_runs'} or its run id")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"batchscribe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Transcribe folders of recordings with Azure AI Speech."""


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
