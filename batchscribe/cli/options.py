"""The command line's options: declared once, taken by ``run``, ``plan`` and ``doctor`` alike.

``@takes_run_options`` gives a command every option of ``run`` (so swapping the verb is always
valid). ``asked(ctx)`` reads the options actually given into the same ``JobSpec`` a job is (the
defaults live only in ``batchscribe.config.schema``), validated once with errors naming the option;
``settings_for`` turns it into ``RunSettings`` through the one resolver, for a one-off run or over
every selected job of ``--jobs`` (command-line option > job > the file's defaults > default).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer
from pydantic import ValidationError

from batchscribe.config.jobs import job_settings, load_jobs
from batchscribe.config.resolve import CommandLine, option_name, resolve_settings
from batchscribe.config.schema import OUTPUT_FORMATS, JobSpec, alternatives_set, explain_option, field_help
from batchscribe.config.settings import RunSettings
from batchscribe.errors import UsageError
from batchscribe.report.store import KEEP_RUNS

_WHAT = "What to transcribe"
_HOW = "Recognition"
_WHERE = "Speech service"
_LIMITS = "Limits and budget"
_LOG = "Logging"
_DURATION = "seconds, or a duration like 90s, 5m, 1h30m"


def _default(field: str) -> str | bool:
    """The spec's default of ``field`` as --help shows it; False (nothing shown) when it has none."""
    value = JobSpec.model_fields[field].default
    if value is None or value == ():
        return False
    return (
        ",".join(value)
        if isinstance(value, tuple)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def _option(field: str, help: str, panel: str, *names: str) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=panel, show_default=_default(field))


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
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Output folder; the input tree is mirrored under it.",
        rich_help_panel=_WHAT,
        show_default=_default("out"),
        parser=_out_folder,
    ),
]
Include = Annotated[
    list[str] | None, _option("include", "Only files matching this glob (repeatable).", _WHAT)
]
Exclude = Annotated[
    list[str] | None, _option("exclude", "Skip files matching this glob (repeatable).", _WHAT)
]
Settle = Annotated[
    str | None,
    _option("settle", f"Leave files modified within this long for the next run: {_DURATION}.", _WHAT),
]
Formats = Annotated[
    list[str] | None,
    _option(
        "formats", f"Outputs per file, any of {','.join(OUTPUT_FORMATS)} (the JSON is always written).", _WHAT
    ),
]
Timestamps = Annotated[bool, _option("timestamps", "Prefix each line of the .txt with [hh:mm:ss].", _WHAT)]
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
        help="Run the jobs of this YAML file (see jobs.example.yaml) instead of INPUTS; the options "
        "given here apply to every job, over the file's values.",
        rich_help_panel=_WHAT,
    ),
]
Job = Annotated[
    list[str] | None,
    typer.Option(help="With --jobs: only this job (repeatable); default all.", rich_help_panel=_WHAT),
]

Language = Annotated[str | None, _option("language", "Recognition language (BCP-47, e.g. de-DE).", _HOW)]
Languages = Annotated[
    list[str] | None,
    _option(
        "languages",
        "Identify the language among these (up to 10, comma-separated) instead of --language.",
        _HOW,
    ),
]
WordTimestamps = Annotated[bool, _option("word_timestamps", "Add word timings to the JSON.", _HOW)]
Simple = Annotated[
    bool, _option("simple", "Simple output format (no NBest/confidence) instead of detailed.", _HOW)
]
Profanity = Annotated[str | None, _option("profanity", "masked, removed or raw.", _HOW)]
Phrases = Annotated[Path | None, _option("phrases", "Phrase list file (names, jargon), one per line.", _HOW)]
EndpointId = Annotated[str | None, _option("endpoint_id", "Custom speech model endpoint id.", _HOW)]
Diarize = Annotated[bool, _option("diarize", "Label speakers (conversation transcription).", _HOW)]
Channels = Annotated[
    str | None, _option("channels", "mix: mix channels down; separate: one session per channel.", _HOW)
]
Split = Annotated[
    str | None,
    _option("split", "auto: long recordings run as chunks cut in pauses, in parallel; off: one session each.",
            _HOW),
]
ChunkSeconds = Annotated[
    str | None,
    _option("chunk_seconds", f"With --split auto: chunk length, {_DURATION} (default: from the run's audio "
            "and workers).", _HOW),
]

KeyFile = Annotated[
    Path | None, _option("key_file", "Read the Speech key from this file (instead of SPEECH_KEY).", _WHERE)
]
_SEVERAL = " Repeat it to spread the sessions over several resources, --workers each."
Region = Annotated[
    list[str] | None, _option("region", "Azure region (instead of SPEECH_REGION)." + _SEVERAL, _WHERE)
]
EndpointUrl = Annotated[
    list[str] | None,
    _option("endpoint", "Custom-domain or private endpoint URL." + _SEVERAL, _WHERE, "--endpoint"),
]
Host = Annotated[
    list[str] | None,
    _option("host", "Speech container host, e.g. ws://localhost:5000 (key optional)." + _SEVERAL, _WHERE),
]
PLACES = ("region", "endpoint", "host")  # given several times: one resource each
Emulate = Annotated[
    bool, _option("emulate", "Use the built-in local stand-in for the Speech service.", _WHERE)
]
EmulatorTranscripts = Annotated[
    Path | None, _option("emulator_transcripts", "With --emulate: the emulator's transcripts file.", _WHERE)
]
EmulatorSpeed = Annotated[
    float | None, _option("emulator_speed", "With --emulate: answer at this many times real time.", _WHERE)
]
SdkSendRate = Annotated[
    float | None,
    _option(
        "sdk_send_rate",
        "Advanced: let the SDK send audio at this many times real time (default: the SDK's own 2x).",
        _WHERE,
    ),
]

Workers = Annotated[int | None, _option("workers", "Recognition sessions at most at once.", _LIMITS)]
Retries = Annotated[
    int | None, _option("retries", "Retries per file for transient errors (throttling, network).", _LIMITS)
]
StallTimeout = Annotated[
    str | None,
    _option(
        "stall_timeout", f"Cancel and retry a session that gets no answer this long: {_DURATION}.", _LIMITS
    ),
]
MaxHours = Annotated[
    float | None, _option("max_hours", "Stop scheduling after this many audio hours.", _LIMITS)
]
MaxCost = Annotated[
    float | None, _option("max_cost", "Stop scheduling when the estimated cost reaches this.", _LIMITS)
]
PricePerHour = Annotated[
    float | None,
    _option(
        "price_per_hour",
        "Price per audio hour (USD list price of standard real-time speech to text).",
        _LIMITS,
    ),
]
MaxRuntime = Annotated[
    str | None,
    _option(
        "max_runtime",
        f"Stop scheduling new files after this long ({_DURATION}); in-flight files finish.",
        _LIMITS,
    ),
]
MaxRuntimeGrace = Annotated[
    str | None,
    _option(
        "max_runtime_grace",
        "In-flight files may run this long past --max-runtime, then are cancelled.",
        _LIMITS,
    ),
]

LOG_FORMATS = ("text", "json")
LogFormat = Annotated[
    str, typer.Option(help=f"{' or '.join(LOG_FORMATS)} (one object per line).", rich_help_panel=_LOG)
]
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
KeepRuns = Annotated[
    int,
    typer.Option(
        min=0, help="Keep this many run reports under OUT/_runs (0: all).", rich_help_panel=_LOG
    ),
]


def _run_options(
    inputs: Inputs = None, out: Out = None, include: Include = None, exclude: Exclude = None,
    settle: Settle = None, formats: Formats = None, timestamps: Timestamps = False, force: Force = False,
    retry_failed: RetryFailed = False, jobs_file: JobsFile = None, job: Job = None,
    language: Language = None, languages: Languages = None, word_timestamps: WordTimestamps = False,
    simple: Simple = False, profanity: Profanity = None, phrases: Phrases = None,
    endpoint_id: EndpointId = None, diarize: Diarize = False, channels: Channels = None,
    split: Split = None, chunk_seconds: ChunkSeconds = None,
    key_file: KeyFile = None, region: Region = None, endpoint: EndpointUrl = None, host: Host = None,
    emulate: Emulate = False, emulator_transcripts: EmulatorTranscripts = None,
    emulator_speed: EmulatorSpeed = None, sdk_send_rate: SdkSendRate = None,
    workers: Workers = None, retries: Retries = None, stall_timeout: StallTimeout = None,
    max_hours: MaxHours = None, max_cost: MaxCost = None, price_per_hour: PricePerHour = None,
    max_runtime: MaxRuntime = None, max_runtime_grace: MaxRuntimeGrace = None,
    log_format: LogFormat = "text", log_file: LogFile = None, quiet: Quiet = False, verbose: Verbose = False,
    keep_runs: KeepRuns = KEEP_RUNS,
) -> None:  # fmt: skip
    """Every option of ``run``, in --help order: the template ``takes_run_options`` copies."""


_HINTS = get_type_hints(_run_options, include_extras=True)
RUN_OPTIONS = tuple(
    p.replace(annotation=_HINTS[p.name]) for p in inspect.signature(_run_options).parameters.values()
)
SPEC_OPTIONS = tuple(p.name for p in RUN_OPTIONS if p.name in JobSpec.model_fields)


def takes_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command(ctx, ...)`` every option of ``run`` before its own; it reads them from
    ``ctx.params`` (``asked(ctx)``), and is called with its own parameters only."""
    hints = get_type_hints(command, include_extras=True)
    own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()]

    @functools.wraps(command)
    def with_run_options(**params: Any) -> None:
        command(**{p.name: params[p.name] for p in own})

    signature = inspect.Signature([own[0], *RUN_OPTIONS, *own[1:]], return_annotation=None)
    with_run_options.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    with_run_options.__signature__ = signature  # type: ignore[attr-defined]
    return with_run_options


@dataclass(frozen=True)
class Asked:
    """What the command line asked for: the spec of the options given, and how to run it."""

    spec: JobSpec
    jobs_file: Path | None = None
    job_names: tuple[str, ...] = ()
    force: bool = False
    retry_failed: bool = False
    log_format: str = "text"
    log_file: Path | None = None
    quiet: bool = False
    verbose: bool = False
    keep_runs: int = KEEP_RUNS


def asked(ctx: typer.Context) -> Asked:
    """The options given on this command line (not their defaults), validated once."""
    return asked_from(ctx.params, {name for name in ctx.params if _given(ctx, name)})


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def asked_from(params: Mapping[str, Any], given: set[str]) -> Asked:
    """``asked`` for parsed ``params`` of which the names in ``given`` were given."""
    if params.get("log_format", "text") not in LOG_FORMATS:
        raise UsageError(
            f"--log-format: must be {' or '.join(LOG_FORMATS)}, got {params['log_format']!r}",
            hint="e.g. --log-format json",
        )
    jobs_file: Path | None = params.get("jobs_file")
    if params.get("job") and jobs_file is None:
        raise UsageError(
            "--job: names a job of a jobs file", hint="give the file too: --jobs jobs.yaml --job NAME"
        )
    if jobs_file is not None and "inputs" in given:
        raise UsageError("give either INPUTS or --jobs, not both", hint="put the inputs in the jobs file")
    return Asked(
        spec=command_line_spec({name: params[name] for name in SPEC_OPTIONS if name in given}),
        jobs_file=jobs_file,
        job_names=tuple(params.get("job") or ()),
        force=bool(params.get("force")),
        retry_failed=bool(params.get("retry_failed")),
        log_format=params.get("log_format", "text"),
        log_file=params.get("log_file"),
        quiet=bool(params.get("quiet")),
        verbose=bool(params.get("verbose")),
        keep_runs=int(params.get("keep_runs", KEEP_RUNS)),
    )


def command_line_spec(options: Mapping[str, Any]) -> JobSpec:
    """A ``JobSpec`` of the given options (field name -> parsed value); errors name the option."""
    values = {name: _spec_value(name, value) for name, value in options.items() if name not in PLACES}
    values.update(_places(options))
    try:
        spec = JobSpec.model_validate(values)
    except ValidationError as exc:
        field, message, example = explain_option(exc)
        if field == "resources":  # one of several --region/--endpoint/--host values
            err = exc.errors(include_url=False)[0]
            field = str(err["loc"][2]) if len(err["loc"]) > 2 else "region"
            message, example = explain_option_value(field, err)
        raise UsageError(
            f"{option_name(field)}: {message}", hint=f"e.g. {option_example(field, example)}"
        ) from exc
    for fields in alternatives_set(spec):
        names = [option_name(f) for f in fields]
        raise UsageError(f"{' and '.join(names)} are alternatives", hint=f"keep one of {', '.join(names)}")
    return spec


def _places(options: Mapping[str, Any]) -> dict[str, object]:
    """--region/--endpoint/--host: one value as it always was; any of them given several times
    makes every value given one resource of a ``resources`` list."""
    given = {
        name: [v.strip() for v in ([value] if isinstance(value, str) else value or ()) if v.strip()]
        for name in PLACES
        if (value := options.get(name))
    }
    if all(len(values) <= 1 for values in given.values()):
        return {name: values[0] for name, values in given.items() if values}
    return {"resources": [{name: v} for name, values in given.items() for v in values]}


def explain_option_value(field: str, err: Any) -> tuple[str, str]:
    """(what is wrong, an example) for one value of a repeated option."""
    message = str(err["ctx"]["error"]) if err["type"] == "value_error" else str(err["msg"])
    return message, field_help(field)[1]


def _spec_value(name: str, value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [str(v) for v in value] if name == "inputs" else list(split_list(value))
    return value


def split_list(values: list[str] | None) -> tuple[str, ...]:
    """Options that take lists accept both repetition and commas: --formats json,srt."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def option_example(field: str, example: str) -> str:
    """A jobs-file example value as the command line spells it: ``[json, srt]`` -> ``--formats json,srt``."""
    if example in ("true", "false"):
        return option_name(field)
    if example.startswith("[") and example.endswith("]"):
        example = ",".join(part.strip().strip("\"'") for part in example[1:-1].split(","))
    return f"{option_name(field)} {example}"


def settings_for(
    request: Asked,
    *,
    credentials: bool = True,
    need_inputs: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[RunSettings]:
    """RunSettings for a one-off run, or for each selected job of ``--jobs`` with the options given
    over it. ``credentials``: find the endpoint and read the key (``plan`` does without)."""
    if request.jobs_file is None:
        one = resolve_settings(
            request.spec, CommandLine(), env=env, credentials=credentials, need_inputs=need_inputs
        )
        every = [one]
    else:
        jobs = load_jobs(request.jobs_file)
        every = [
            job_settings(jobs, name, env=env, command_line=request.spec, credentials=credentials)
            for name in jobs.select(request.job_names)
        ]
    return [replace(s, force=request.force, retry_failed_only=request.retry_failed) for s in every]
