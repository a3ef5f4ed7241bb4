"""The command line's options, declared once and shared by ``run``, ``plan`` and ``doctor``.

``settings_from_params`` turns a command's parsed parameters (``ctx.params``) into
``RunSettings``: from the options for a one-off run, or one per job of ``--jobs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from batchscribe.config.jobs import job_settings, load_jobs
from batchscribe.config.settings import (
    DEFAULT_PRICE_PER_HOUR,
    OUTPUT_FORMATS,
    Endpoint,
    RunSettings,
    read_phrase_list,
    resolve_endpoint,
)
from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import UsageError

_WHAT = "What to transcribe"
_HOW = "Recognition"
_WHERE = "Speech service"
_LIMITS = "Limits and budget"
_LOG = "Logging"

Inputs = Annotated[
    list[Path] | None,
    typer.Argument(help="Files and folders to transcribe (recursively).", show_default=False),
]
def _out_folder(value: str | Path) -> Path:
    if isinstance(value, Path):  # the default
        return value
    if not value.strip():  # Path("") would silently mean the current folder
        raise typer.BadParameter("it is empty; give the folder to write to, e.g. --out transcripts")
    return Path(value)


Out = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Output folder; the input tree is mirrored under it.",
        rich_help_panel=_WHAT,
        parser=_out_folder,
    ),
]
Include = Annotated[
    list[str] | None, typer.Option(help="Only files matching this glob (repeatable).", rich_help_panel=_WHAT)
]
Exclude = Annotated[
    list[str] | None, typer.Option(help="Skip files matching this glob (repeatable).", rich_help_panel=_WHAT)
]
Settle = Annotated[
    float,
    typer.Option(help="Leave files modified in the last N seconds for the next run.", rich_help_panel=_WHAT),
]
Formats = Annotated[
    list[str] | None,
    typer.Option(
        help=f"Outputs per file, any of {','.join(OUTPUT_FORMATS)} (the JSON is always written).",
        rich_help_panel=_WHAT,
    ),
]
Timestamps = Annotated[
    bool, typer.Option(help="Prefix each line of the .txt with [hh:mm:ss].", rich_help_panel=_WHAT)
]
Force = Annotated[
    bool, typer.Option(help="Transcribe again even what is already done.", rich_help_panel=_WHAT)
]
RetryFailed = Annotated[
    bool, typer.Option(help="Only the recordings that failed in earlier runs.", rich_help_panel=_WHAT)
]
JobsFile = Annotated[
    Path | None,
    typer.Option(
        "--jobs",
        help="Run the jobs of this YAML file (see jobs.example.yaml) instead of INPUTS.",
        rich_help_panel=_WHAT,
    ),
]
Job = Annotated[
    list[str] | None,
    typer.Option(help="With --jobs: only this job (repeatable); default all.", rich_help_panel=_WHAT),
]

Language = Annotated[str, typer.Option(help="Recognition language (BCP-47).", rich_help_panel=_HOW)]
Languages = Annotated[
    list[str] | None,
    typer.Option(
        help="Identify the language among these (up to 10, comma-separated) instead of --language.",
        rich_help_panel=_HOW,
    ),
]
WordTimestamps = Annotated[bool, typer.Option(help="Add word timings to the JSON.", rich_help_panel=_HOW)]
Simple = Annotated[
    bool,
    typer.Option(
        help="Simple output format (no NBest/confidence) instead of detailed.", rich_help_panel=_HOW
    ),
]
Profanity = Annotated[str, typer.Option(help="masked, removed or raw.", rich_help_panel=_HOW)]
Phrases = Annotated[
    Path | None, typer.Option(help="Phrase list file (names, jargon), one per line.", rich_help_panel=_HOW)
]
EndpointId = Annotated[str, typer.Option(help="Custom speech model endpoint id.", rich_help_panel=_HOW)]
Diarize = Annotated[
    bool, typer.Option(help="Label speakers (conversation transcription).", rich_help_panel=_HOW)
]
Channels = Annotated[
    str, typer.Option(help="mix: mix channels down; separate: one session per channel.", rich_help_panel=_HOW)
]

KeyFile = Annotated[
    Path | None,
    typer.Option(help="Read the Speech key from this file (instead of SPEECH_KEY).", rich_help_panel=_WHERE),
]
Region = Annotated[
    str | None, typer.Option(help="Azure region (instead of SPEECH_REGION).", rich_help_panel=_WHERE)
]
EndpointUrl = Annotated[
    str | None,
    typer.Option("--endpoint", help="Custom-domain or private endpoint URL.", rich_help_panel=_WHERE),
]
Host = Annotated[
    str | None,
    typer.Option(
        help="Speech container host, e.g. ws://localhost:5000 (key optional).", rich_help_panel=_WHERE
    ),
]
Emulate = Annotated[
    bool, typer.Option(help="Use the built-in local stand-in for the Speech service.", rich_help_panel=_WHERE)
]
EmulatorTranscripts = Annotated[
    Path | None, typer.Option(help="With --emulate: the emulator's transcripts file.", rich_help_panel=_WHERE)
]
EmulatorSpeed = Annotated[
    float | None,
    typer.Option(help="With --emulate: answer at this many times real time.", rich_help_panel=_WHERE),
]
SdkSendRate = Annotated[
    float | None,
    typer.Option(
        help="Advanced: let the SDK send audio at this many times real time (default: the SDK's own 2x).",
        rich_help_panel=_WHERE,
    ),
]

Workers = Annotated[int, typer.Option(help="Recognition sessions at most at once.", rich_help_panel=_LIMITS)]
Retries = Annotated[
    int,
    typer.Option(
        help="Retries per file for transient errors (throttling, network).", rich_help_panel=_LIMITS
    ),
]
StallTimeout = Annotated[
    float,
    typer.Option(
        help="Cancel and retry a session that gets no answer for this many seconds.", rich_help_panel=_LIMITS
    ),
]
MaxHours = Annotated[
    float | None, typer.Option(help="Stop scheduling after this many audio hours.", rich_help_panel=_LIMITS)
]
MaxCost = Annotated[
    float | None,
    typer.Option(help="Stop scheduling when the estimated cost reaches this.", rich_help_panel=_LIMITS),
]
PricePerHour = Annotated[
    float,
    typer.Option(
        help="Price per audio hour (USD list price of standard real-time speech to text).",
        rich_help_panel=_LIMITS,
    ),
]
MaxRuntime = Annotated[
    float | None,
    typer.Option(
        help="Stop scheduling new files after this many seconds; in-flight files finish.",
        rich_help_panel=_LIMITS,
    ),
]

MaxRuntimeGrace = Annotated[
    float,
    typer.Option(
        help="In-flight files may run this long past --max-runtime, then are cancelled.",
        rich_help_panel=_LIMITS,
    ),
]

LogFormat = Annotated[str, typer.Option(help="text or json (one object per line).", rich_help_panel=_LOG)]
LogFile = Annotated[
    Path | None, typer.Option(help="Also append log lines to this file.", rich_help_panel=_LOG)
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print only the final summary and failures.", rich_help_panel=_LOG),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.", rich_help_panel=_LOG)
]

DEFAULT_OUT = Path("transcripts")
PRICE = DEFAULT_PRICE_PER_HOUR


def split_list(values: list[str] | None) -> tuple[str, ...]:
    """Options that take lists accept both repetition and commas: --formats json,srt."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def _choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{option} {value!r} is not known", hint=f"use one of: {', '.join(choices)}")
    return value


def settings_from_params(params: Mapping[str, Any]) -> list[RunSettings]:
    """RunSettings for a one-off run (from the options) or for each selected job of --jobs."""
    jobs_path: Path | None = params.get("jobs_file")
    if jobs_path is not None:
        if params.get("inputs"):
            raise UsageError("give either INPUTS or --jobs, not both", hint="put the inputs in the jobs file")
        jobs = load_jobs(jobs_path)
        overrides = {
            "force": params.get("force", False),
            "retry_failed_only": params.get("retry_failed", False),
        }
        return [
            replace(job_settings(jobs, name), **overrides) for name in jobs.select(params.get("job") or ())
        ]
    if not params.get("inputs"):
        raise UsageError(
            "nothing to transcribe",
            hint="give files or folders (batchscribe run ./recordings) or --jobs FILE",
        )
    languages = split_list(params["languages"])
    if len(languages) > 10:
        raise UsageError("--languages takes at most 10 languages", hint="keep the likeliest ten")
    endpoint = (
        Endpoint(kind="emulator", key="emulator")
        if params["emulate"]
        else resolve_endpoint(
            key_file=params["key_file"],
            region=params["region"],
            endpoint_url=params["endpoint"],
            host_url=params["host"],
        )
    )
    options = RecognitionOptions(
        language=params["language"],
        languages=languages,
        detailed=not params["simple"],
        word_timestamps=params["word_timestamps"],
        profanity=_choice(params["profanity"], "--profanity", ("masked", "removed", "raw")),
        phrases=read_phrase_list(params["phrases"]) if params["phrases"] else (),
        endpoint_id=params["endpoint_id"],
        diarize=params["diarize"],
    )
    channels = _choice(params["channels"], "--channels", ("mix", "separate"))
    return [
        RunSettings(
            inputs=tuple(params["inputs"]),
            out=params["out"],
            endpoint=endpoint,
            options=options,
            workers=params["workers"],
            retries=params["retries"],
            stall_timeout=params["stall_timeout"],
            formats=split_list(params["formats"]) or ("json", "txt"),
            timestamps=params["timestamps"],
            channels="separate" if channels == "separate" else "mix",
            include=split_list(params["include"]),
            exclude=split_list(params["exclude"]),
            settle_seconds=params["settle"],
            force=params.get("force", False),
            retry_failed_only=params.get("retry_failed", False),
            max_audio_hours=params["max_hours"],
            max_cost=params["max_cost"],
            price_per_hour=params["price_per_hour"],
            max_runtime_s=params["max_runtime"],
            max_runtime_grace_s=params.get("max_runtime_grace", 600.0),
            sdk_send_rate=params["sdk_send_rate"],
            emulator_transcripts=params["emulator_transcripts"],
            emulator_speed=params["emulator_speed"],
        )
    ]


def check_log_format(value: str) -> str:
    return _choice(value, "--log-format", ("text", "json"))
