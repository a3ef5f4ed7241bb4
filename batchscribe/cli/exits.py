"""How a batchscribe process ends: one line per error, an honest exit code, never a SIGABRT.

- ``OneLineErrors``: the group class of every typer app (``batchscribe`` and ``batchscribe
  emulator``, also when run alone). It is the one top-level catch: a ``BatchscribeError`` from any
  command becomes one line on stderr (its message and fix, names shown safely) and its
  ``exit_code``; any other exception is an internal error (exit 3), with its traceback only under
  ``--verbose``/``-v``.
- ``print_error``: that line, for a caller that goes on after an error (``run_all``: the next job).
- ``run_main``: the console scripts' entry; Ctrl-C before a run took over is exit 130, and the
  process leaves through ``exit_without_abort``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from batchscribe.engines.reaper import native_work_pending
from batchscribe.errors import EXIT_ABORTED, EXIT_INTERRUPTED, BatchscribeError
from batchscribe.names import shown

_VERBOSE_FLAGS = frozenset({"--verbose", "-v"})


def print_error(exc: BatchscribeError, console: Console) -> None:
    """``error: <message> (<fix>)`` on one line (never wrapped, markup in names escaped)."""
    console.print(f"[red]error:[/red] {escape(shown(exc.one_line()))}", markup=True, soft_wrap=True)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


class OneLineErrors(typer.core.TyperGroup):
    """A command group whose commands' errors end the process as one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BatchscribeError as exc:
            print_error(exc, _stderr())
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):  # click renders its own
            raise
        except Exception as exc:
            if _VERBOSE_FLAGS & set(sys.argv[1:]):
                _stderr().print_exception()
            line = f"{escape(shown(repr(exc)))} (run again with --verbose and report it)"
            _stderr().print(f"[red]internal error:[/red] {line}", markup=True, soft_wrap=True)
            raise typer.Exit(EXIT_ABORTED) from None


def run_main(app: Callable[[], Any]) -> None:
    """Run a typer ``app`` as the process, then leave with its exit code (see ``exit_without_abort``)."""
    code: int | str | None = 0
    try:
        app()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except SystemExit as exc:
        code = exc.code
    # Interrupted: never a late second signal meeting the default handler the interpreter's
    # shutdown restores.
    exit_without_abort(code, at_once=code == EXIT_INTERRUPTED)


def exit_without_abort(code: int | str | None, *, at_once: bool = False) -> None:
    """End the process with ``code`` (as ``sys.exit`` takes it). If a recognizer is still being
    released, the interpreter's shutdown could meet an SDK thread calling into Python and abort
    (exit 134), so the process then leaves with ``os._exit`` after flushing what it printed.
    ``at_once`` (an interrupted run) always leaves that way: the interpreter's shutdown puts the
    default signal handlers back, and a second SIGTERM in it would kill the process by signal
    instead of the promised exit 130."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    code = code or 0
    if at_once or native_work_pending():
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
