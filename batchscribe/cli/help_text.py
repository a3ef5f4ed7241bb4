"""Help that reads as written: literal brackets, and metavars a person understands.

Typer renders help texts as rich markup, so ``[hh:mm:ss]`` vanished from "--timestamps"; and it
names value types after Python's (``<bool>``, ``<list[str]>``). ``ReadableHelp`` fixes both when
help is shown, for every option, so declarations stay plain strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import typer.core
from rich.markup import escape

_BY_NAME = {
    "include": "GLOB", "exclude": "GLOB", "formats": "LIST", "languages": "LIST", "job": "NAME",
    "jobs_file": "FILE", "key_file": "FILE", "phrases": "FILE", "log_file": "FILE", "out": "DIR",
    "emulator_transcripts": "FILE", "region": "REGION", "endpoint": "URL", "host": "URL",
    "language": "LOCALE", "settle": "SECONDS", "stall_timeout": "SECONDS", "max_runtime": "SECONDS",
    "max_runtime_grace": "SECONDS", "max_hours": "HOURS", "max_cost": "AMOUNT", "price_per_hour": "AMOUNT",
    "workers": "N", "retries": "N", "emulator_speed": "TIMES", "sdk_send_rate": "TIMES",
    "profanity": "MODE", "channels": "MODE", "log_format": "FORMAT", "endpoint_id": "ID", "inputs": "PATH",
    "run_dir": "RUN", "split": "MODE", "chunk_seconds": "SECONDS", "keep_runs": "N", "engine": "ENGINE",
    "storage": "CONTAINER", "storage_access": "MODE", "batch_size": "N", "poll_interval": "SECONDS",
}  # fmt: skip


def _by_type(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation: Any = getattr(descriptor, "annotation", None)
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "PATH"
    return "TEXT"


def make_readable(params: list[Any]) -> None:
    for param in params:
        option = getattr(param, "param_type_name", "") == "option"
        if option and param.help and "\\[" not in param.help:
            param.help = escape(param.help)
        if param.metavar is not None:
            continue
        if not option:  # an argument: its name says it; the type column would say <list[Path]>
            param.metavar = (param.name or "").upper() + ("..." if param.nargs != 1 else "")
            param.display_type_rich = lambda ctx: None
        elif param.is_flag or param.count:
            param.metavar = ""
        else:
            param.metavar = _BY_NAME.get(param.name or "", _by_type(param))


class ReadableHelp(typer.core.TyperCommand):
    """A command whose options' help shows brackets and readable metavars."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        make_readable(self.get_params(ctx))
        super().format_help(ctx, formatter)
