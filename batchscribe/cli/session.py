"""How the CLI runs jobs: progress display, log lines, signals and the final summary.

A live rich view on a terminal; plain (or JSON) timestamped lines otherwise, e.g. under cron.
The first SIGINT/SIGTERM/SIGHUP cancels gracefully (in-flight files are cancelled and left for the next
run, the summary is written); a second one exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO

from rich.console import Console
from rich.text import Text

from batchscribe.cancel import CancelToken
from batchscribe.cli.exits import print_error
from batchscribe.cli.progress import LineLog, LiveView
from batchscribe.cli.terminal import TerminalStream
from batchscribe.config.settings import RunSettings
from batchscribe.errors import EXIT_INTERRUPTED, RunAbortedError, UsageError
from batchscribe.names import shown
from batchscribe.outputs.layout import KEEP_RUNS, OutFolder
from batchscribe.report import REPORT_HTML, SUMMARY_JSON, latest_run_dir, prune_runs, render_console_summary
from batchscribe.report.summary import headline, summary_document
from batchscribe.report.writer import report_run
from batchscribe.results import RunResult
from batchscribe.running.events import Fanout, RunEvents
from batchscribe.running.run import Plan, new_run_id, run_batch
from batchscribe.secrets import Redactor

# SIGHUP: the terminal or the ssh session went away; the run winds down like on SIGTERM.
CANCELLING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextmanager
def signals_cancel(cancel: CancelToken, stderr: Console) -> Iterator[None]:
    """First SIGINT/SIGTERM/SIGHUP cancels the run gracefully; a second one exits at once."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if cancel.is_cancelled():
            os._exit(EXIT_INTERRUPTED)
        if signum == getattr(signal, "SIGHUP", None):
            terminal_gone()
        with suppress(OSError, ValueError):  # never raise into whatever the main thread was doing
            stderr.print(f"interrupted ({signal.Signals(signum).name}): finishing up "
                         "(press Ctrl-C again to quit at once)")  # fmt: skip
        cancel.cancel("interrupted")

    previous = {sig: signal.signal(sig, handle) for sig in CANCELLING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # Once interrupted, a second signal while the process winds down (summary, SDK
            # shutdown) still means "quit at once" with 130, never the default death by signal;
            # ``cli.app.main`` then leaves without the interpreter's shutdown, which would put
            # the default handlers back (see ``exit_without_abort``).
            signal.signal(sig, _exit_interrupted if cancel.is_cancelled() else handler)


def _exit_interrupted(signum: int, frame: FrameType | None) -> None:
    os._exit(EXIT_INTERRUPTED)


def terminal_gone() -> None:
    """After a hangup, writing to the terminal fails (EIO): what went there goes to /dev/null,
    so the run can still finish, write its summary and report, and exit. Pipes and files stay."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            if stream.isatty():
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)


@contextmanager
def open_log(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    try:
        stream = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot open the log file {path}: {exc.strerror}", hint="choose a writable --log-file"
        ) from exc
    try:
        yield stream
    finally:
        # Every line is flushed as it is written: what close() could still fail on already
        # failed, and LineLog said so (the run went on without the log).
        with suppress(OSError):
            stream.close()


QUIET_LOGGERS = ("websockets", "batchscribe.emulator")


def run_all(
    all_settings: Sequence[RunSettings],
    *,
    stderr: Console,
    log_format: str = "text",
    log_file: Path | None = None,
    quiet: bool = False,
    verbose: bool = False,
    keep_runs: int = KEEP_RUNS,
) -> int:
    """Run each job in turn; the exit code is the worst of them (130 once interrupted).

    After each job, only its output folder's ``keep_runs`` newest report folders are kept."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s",
    )
    for name in QUIET_LOGGERS:  # --emulate's in-process server: its frames are not this run's news
        logging.getLogger(name).setLevel(logging.WARNING)
    cancel = CancelToken()
    codes: list[int] = []
    results: list[RunResult] = []
    with open_log(log_file) as log_stream, signals_cancel(cancel, stderr):
        for settings in all_settings:
            if cancel.is_cancelled():
                break
            if len(all_settings) > 1:
                inputs = ", ".join(shown(str(p)) for p in settings.inputs)
                stderr.print(f"job {shown(settings.job_name)}: {inputs}", markup=False)
            try:
                result = _run_one(settings, cancel, log_format, log_stream, quiet)
                results.append(result)
                codes.append(result.exit_code)
                prune_runs(settings.out, keep_runs)
            except RunAbortedError as exc:  # e.g. its output folder is locked: the other jobs still run
                print_error(exc, stderr)
                codes.append(exc.exit_code)
    code = EXIT_INTERRUPTED if cancel.is_cancelled() else max(codes, default=0)
    if len(all_settings) > 1 and not (quiet and code == 0) and log_format == "text":
        _all_jobs_line(len(all_settings), results, code)
    return code


def _all_jobs_line(jobs: int, results: Sequence[RunResult], code: int) -> None:
    """A multi-job night's closing line: every job's files and audio together, and the exit code."""
    ran = len(results)
    done = sum(r.succeeded_count for r in results)
    failed = sum(r.failed_count for r in results)
    cancelled = sum(r.cancelled_count for r in results)
    whole = round(sum(r.audio_seconds for r in results))
    audio = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    parts = [f"{done} done", f"{failed} failed"] + ([f"{cancelled} cancelled"] if cancelled else [])
    jobs_text = f"{jobs} jobs" if ran == jobs else f"{ran} of {jobs} jobs"
    line = f"all jobs: {jobs_text}, {', '.join(parts)}, {audio} of audio transcribed; exit {code}"
    Console(highlight=False, no_color=True).print(Text(line), soft_wrap=True)


def _run_one(
    settings: RunSettings, cancel: CancelToken, log_format: str, log_stream: IO[str] | None, quiet: bool
) -> RunResult:
    console = Console(highlight=False, file=TerminalStream("stdout"))  # type: ignore[arg-type]
    redact = Redactor(settings.secrets)  # every resource's key
    run_id = new_run_id()
    live = console.is_terminal and not quiet and log_format == "text"
    json_lines = log_format == "json"
    sinks: list[RunEvents] = []
    if not live:
        sinks.append(
            LineLog(
                sys.stdout,
                run_id=run_id,
                json_lines=json_lines,
                quiet=quiet,
                redact=redact,
                on_broken=stdout_gone,
            )
        )
    if log_stream is not None:
        sinks.append(LineLog(log_stream, run_id=run_id, json_lines=json_lines, redact=redact))

    @contextmanager
    def events(plan: Plan) -> Iterator[RunEvents]:
        if not live:
            yield Fanout(sinks)
            return
        with LiveView(
            console,
            total_files=len(plan.items),
            total_audio_s=plan.audio_seconds,
            found=plan.counts.discovered,
        ) as view:
            yield Fanout([view, *sinks])

    result = run_batch(settings, events=events, cancel=cancel, run_id=run_id, report=report_run)
    try:
        _finish(settings, result, console, json_lines=json_lines, quiet=quiet)
    except BrokenPipeError:  # `batchscribe run ... | head`: the reader left; the run's code stands
        stdout_gone()
    return result


def _finish(
    settings: RunSettings, result: RunResult, console: Console, *, json_lines: bool, quiet: bool
) -> None:
    """The summary, then where the outputs and the report are (unless quiet)."""
    folder = OutFolder(settings.out).run_dir(result.run_id)
    report = folder if (folder / SUMMARY_JSON).is_file() else latest_run_dir(settings.out)
    if json_lines:
        LineLog(sys.stdout, run_id=result.run_id, json_lines=True).emit(
            "summary", f"exit {result.exit_code}", important=True, exit_code=result.exit_code,
            succeeded=result.succeeded_count, failed=result.failed_count, cancelled=result.cancelled_count,
            still_failing=len(result.still_failing), outputs=str(settings.out),
            summary=str(report / SUMMARY_JSON) if report else "",
        )  # fmt: skip
        return
    plain = Console(highlight=False, no_color=not console.is_terminal, file=TerminalStream("stdout"))  # type: ignore[arg-type]
    if report == folder:
        render_console_summary(result, plain, quiet=quiet)
    elif not quiet:  # nothing to do: no report of its own, the last real run stays the latest
        summary = summary_document(result)
        plain.print(Text(headline(summary)), soft_wrap=True)
    if quiet:
        return
    plain.print(Text(f"outputs: {settings.out}"), soft_wrap=True)
    if report is None:
        return
    label = "report" if report == folder else "last report"
    plain.print(Text(f"{label}: {report / REPORT_HTML}"), soft_wrap=True)


def stdout_gone() -> None:
    """Stdout's reader went away: send the rest to /dev/null, so exiting does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
