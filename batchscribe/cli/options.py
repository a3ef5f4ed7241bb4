"""The command line's options: declared once, taken by ``run``, ``plan`` and ``doctor`` alike.

``@takes_run_options`` gives a command every option of ``run`` (so swapping the verb is always
valid); ``batchscribe.cli.asked`` reads the ones given. Help texts and defaults come from the
spec's fields (``batchscribe.config.schema``), the one place they are decided.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from batchscribe.config.schema import OUTPUT_FORMATS, JobSpec
from batchscribe.engines.batch.settings import EMULATED_POLL_INTERVAL_S, POLL_INTERVAL_S
from batchscribe.outputs.layout import KEEP_RUNS

_WHAT = "What to transcribe"
_HOW = "Recognition"
_WHERE = "Speech service"
_LIMITS = "Limits and budget"
_LOG = "Logging"
_DURATION = "seconds, or a duration like 90s, 5m, 1h30m"


def _default(field: str) -> str | bool:
    """The spec's default of ``field`` as --help shows it; False (nothing shown) when it has none."""
    value = JobSpec.model_fields[field].default
    if value is None or value == () or isinstance(value, bool):  # a flag says its default by its name
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
    _option(
        "split",
        "auto: long recordings run as chunks cut in pauses, in parallel; off: one session each.",
        _HOW,
    ),
]
EngineChoice = Annotated[
    str | None,
    _option(
        "engine",
        "realtime: streaming sessions (the SDK); fast: one fast-transcription request per "
        "recording; batch: Azure batch transcription jobs on Blob Storage.",
        _HOW,
    ),
]
ChunkSeconds = Annotated[
    str | None,
    _option(
        "chunk_seconds",
        f"With --split auto: chunk length, {_DURATION} (default: from the run's audio and workers).",
        _HOW,
    ),
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
    bool,
    _option(
        "emulate",
        "Use the built-in local stand-in for the Speech service (any engine; with --engine batch "
        "and no --storage, Azurite holds the uploads for the run).",
        _WHERE,
    ),
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

_SUMMARIES = "Summaries (Azure OpenAI)"
Summarize = Annotated[
    bool,
    _option(
        "summarize",
        "Summarize each transcript (summary, action items, topics) with Azure OpenAI; "
        "the transcript text is sent to that endpoint.",
        _SUMMARIES,
    ),
]
OpenaiEndpoint = Annotated[
    str | None,
    _option(
        "openai_endpoint",
        "Azure OpenAI endpoint (instead of AZURE_OPENAI_ENDPOINT); key from "
        "AZURE_OPENAI_API_KEY, else Entra ID.",
        _SUMMARIES,
    ),
]
OpenaiDeployment = Annotated[
    str | None,
    _option("openai_deployment", "Chat model deployment (instead of AZURE_OPENAI_DEPLOYMENT).", _SUMMARIES),
]
SummaryPrompt = Annotated[
    Path | None, _option("summary_prompt", "Prompt file replacing the shipped one.", _SUMMARIES)
]
PricePer1kTokens = Annotated[
    float | None,
    _option("price_per_1k_tokens", "Price per 1,000 tokens, for --max-cost and the report.", _SUMMARIES),
]
OpenaiContextTokens = Annotated[
    int | None,
    _option(
        "openai_context_tokens",
        "The deployment's context size; longer transcripts are summarized in parts.",
        _SUMMARIES,
    ),
]
_BATCH = "Batch engine (--engine batch)"
Storage = Annotated[
    str | None,
    _option(
        "storage",
        "Blob Storage container for uploads: a name (with AZURE_STORAGE_CONNECTION_STRING) or "
        "a container URL (Entra ID sign-in, role Storage Blob Data Contributor; the service reads "
        "through user-delegation SAS URLs).",
        _BATCH,
    ),
]
StorageAccess = Annotated[
    str | None,
    _option(
        "storage_access",
        "sas: the service reads through SAS URLs; trusted: the Speech resource's "
        "managed identity reads the container.",
        _BATCH,
    ),
]
BatchSize = Annotated[int | None, _option("batch_size", "Recordings per job (at most 1000).", _BATCH)]
NoWait = Annotated[
    bool,
    _option(
        "no_wait", "Submit, collect what is ready, exit; the next run collects the rest.", _BATCH, "--no-wait"
    ),
]
PollInterval = Annotated[
    str | None,
    _option(
        "poll_interval",
        f"How often to ask about jobs: {_DURATION} (default {POLL_INTERVAL_S:g}; "
        f"{EMULATED_POLL_INTERVAL_S:g} with --emulate).",
        _BATCH,
    ),
]
KeepUploads = Annotated[
    bool,
    _option(
        "keep_uploads", "Keep the uploaded recordings once their results are saved.", _BATCH, "--keep-uploads"
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
    typer.Option(
        "--quiet",
        "-q",
        help="Print only failures (nothing at all on a night where nothing failed).",
        rich_help_panel=_LOG,
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.", rich_help_panel=_LOG)
]
KeepRuns = Annotated[
    int,
    typer.Option(min=0, help="Keep this many run reports under OUT/_runs (0: all).", rich_help_panel=_LOG),
]

# The morning report (the quality thresholds are a jobs-file block: ``quality:``).
Currency = Annotated[
    str | None,
    _option("currency", "The currency of --price-per-hour, shown with every cost.", _LOG),
]
MaxSpeakers = Annotated[
    int | None, _option("max_speakers", "With --engine fast and --diarize: speakers at most (2-35).", _HOW)
]
RequestsPerMinute = Annotated[
    int | None,
    _option(
        "requests_per_minute",
        "With --engine fast: requests per minute at most, per Speech resource.",
        _LIMITS,
    ),
]


def _run_options(
    inputs: Inputs = None, out: Out = None, include: Include = None, exclude: Exclude = None,
    settle: Settle = None, formats: Formats = None, timestamps: Timestamps = False, force: Force = False,
    retry_failed: RetryFailed = False, jobs_file: JobsFile = None, job: Job = None,
    language: Language = None, languages: Languages = None, word_timestamps: WordTimestamps = False,
    simple: Simple = False, profanity: Profanity = None, phrases: Phrases = None,
    endpoint_id: EndpointId = None, diarize: Diarize = False, channels: Channels = None,
    split: Split = None, chunk_seconds: ChunkSeconds = None, engine: EngineChoice = None,
    key_file: KeyFile = None, region: Region = None, endpoint: EndpointUrl = None, host: Host = None,
    emulate: Emulate = False, emulator_transcripts: EmulatorTranscripts = None,
    emulator_speed: EmulatorSpeed = None, sdk_send_rate: SdkSendRate = None,
    workers: Workers = None, retries: Retries = None, stall_timeout: StallTimeout = None,
    max_hours: MaxHours = None, max_cost: MaxCost = None, price_per_hour: PricePerHour = None,
    max_runtime: MaxRuntime = None, max_runtime_grace: MaxRuntimeGrace = None,
    log_format: LogFormat = "text", log_file: LogFile = None, quiet: Quiet = False, verbose: Verbose = False,
    keep_runs: KeepRuns = KEEP_RUNS,
    currency: Currency = None,
    summarize: Summarize = False, openai_endpoint: OpenaiEndpoint = None,
    openai_deployment: OpenaiDeployment = None, summary_prompt: SummaryPrompt = None,
    price_per_1k_tokens: PricePer1kTokens = None, openai_context_tokens: OpenaiContextTokens = None,
    max_speakers: MaxSpeakers = None, requests_per_minute: RequestsPerMinute = None,
    storage: Storage = None, storage_access: StorageAccess = None, batch_size: BatchSize = None,
    no_wait: NoWait = False, poll_interval: PollInterval = None, keep_uploads: KeepUploads = False,
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
