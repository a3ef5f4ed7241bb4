"""Help that reads as written: literal brackets, and metavars a person understands.

Typer renders help texts as rich markup, so ``[hh:mm:ss]`` vanished from "--timestamps"; and it
names value types after Python's (``<bool>``, ``<list[str]>``), and a default given as text
reads ``[default: (transcripts)]``. ``ReadableHelp`` (a command) and ``ReadableGroup`` (a group's
own options) fix all three when help is shown, for every option, so declarations stay plain
strings; ``make_app_readable`` gives every command of a typer app (the emulator's) the same help.
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
    "run_dir": "RUN", "split": "MODE", "chunk_seconds": "SECONDS", "keep_runs": "N",
    "engine": "ENGINE",
    "currency": "CODE",
    # summaries (issue 21)
    "openai_endpoint": "URL", "openai_deployment": "NAME", "summary_prompt": "FILE",
    "price_per_1k_tokens": "AMOUNT", "openai_context_tokens": "TOKENS",
    "max_speakers": "N", "requests_per_minute": "N",
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
        if option and isinstance(param.show_default, str):  # click would say "(transcripts)"
            if param.show_default:
                param.help = f"{param.help or ''} \\[default: {escape(param.show_default)}]".strip()
            param.show_default = False
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

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``FILE`` for a required argument, as usage lines write it (typer writes ``{FILE}``)."""
        pieces: list[str] = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


class ReadableGroup(typer.core.TyperGroup):
    """A group (its own options, e.g. the emulator's) whose help reads as ``ReadableHelp``'s."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        make_readable(self.get_params(ctx))
        super().format_help(ctx, formatter)


def make_app_readable(app: typer.Typer) -> None:
    """Every command and sub-group of ``app`` shows readable help (before the app is mounted)."""
    for command in app.registered_commands:
        command.cls = ReadableHelp
    for group in app.registered_groups:
        group.cls = ReadableGroup
        if group.typer_instance is not None:
            make_app_readable(group.typer_instance)
