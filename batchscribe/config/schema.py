"""What the user can ask for: every field, its default, its range, its check and the fix to suggest.

``JobSpec`` is one block of fields: the jobs file's ``defaults`` block, one job, or the options
given on the command line (the CLI builds the same spec from the options actually given, so a
value means the same in both places). ``JobsFileSpec`` is the whole jobs file. These are the only
defaults: ``RunSettings`` and the command line's help take theirs from here. Each field carries
what it *must be* (its ``description``) and a YAML example, from which ``config.explain`` turns
pydantic's errors into one line naming the file and line, or the option.
Paths stay text here: ``batchscribe.config.resolve`` resolves them where they were given.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

OUTPUT_FORMATS = ("json", "txt", "srt", "vtt")
DEFAULT_PRICE_PER_HOUR = 1.0  # USD, Azure standard real-time speech to text (pay as you go)
DEFAULT_PRICE_PER_1K_TOKENS = 0.005  # USD, a blended input/output price of a GPT-4o-class deployment
MAX_LANGUAGES = 10  # the Speech service identifies among at most ten candidate languages
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
FILE_FIELDS = ("defaults", "jobs")
EXAMPLE_HINT = "see jobs.example.yaml for every field"

Loc = tuple[str | int, ...]
"""Where a value is in the file: its path of keys and list indexes, as pydantic reports it."""

# Upper bounds of durations: sane values, and far below what a timer or a deadline can hold.
DAY = 24 * 3600.0
WEEK = 7 * DAY
MONTH = 30 * DAY
SECONDS_FIELDS = ("settle", "stall_timeout", "max_runtime", "max_runtime_grace")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL_SCHEMES = ("wss://", "ws://", "https://", "http://")


def show(value: object) -> str:
    """A value as the error line quotes it: short, YAML-flavoured, never a whole structure."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)


def parse_duration(value: object) -> float:
    """Seconds from a number or a duration string: ``90``, ``"90s"``, ``"2m"``, ``"1h30m"``, ``"1.5h"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return float(text)
        except ValueError:
            pass
        parts = _DURATION_PART.findall(text)
        if parts and re.fullmatch(rf"(?:{_DURATION_PART.pattern}\s*)+", text):
            return sum(float(number) * _UNIT_SECONDS[unit[0]] for number, unit in parts)
    raise ValueError(f"must be a number of seconds or a duration like 90s, 2m or 1h30m, got {show(value)}")


def _listed(value: object) -> object:
    """One value where a list is expected is a list of one; a blank one (``exclude:``) is empty."""
    return [value] if isinstance(value, str) else [] if value is None else value


def _comma_listed(value: object) -> object:
    """Like the command line, ``formats: json,srt`` and ``languages: en-US,de-DE`` are lists too."""
    return (
        [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, str)
        else _listed(value)
    )


def _formats(value: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [f for f in value if f not in OUTPUT_FORMATS]
    if unknown:
        raise ValueError(f"unknown format {show(unknown[0])}: choose from {', '.join(OUTPUT_FORMATS)}")
    if not value:
        raise ValueError(f"must name at least one of {', '.join(OUTPUT_FORMATS)}")
    return tuple(dict.fromkeys(value))


def _language(value: str) -> str:
    if not _LANGUAGE_TAG.fullmatch(value):
        raise ValueError(f"must be a language tag like en-US or de-DE, got {show(value)}")
    return value


def _languages(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(value) > MAX_LANGUAGES:
        raise ValueError(f"takes at most {MAX_LANGUAGES} languages, got {len(value)}: keep the likeliest ten")
    twice = [tag for i, tag in enumerate(value) if tag in value[:i]]
    if twice:
        raise ValueError(f"lists {show(twice[0])} twice")
    return value


def _region(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9]*", value.lower()):
        raise ValueError(f"must be an Azure region name like westeurope (no spaces), got {show(value)}")
    return value.lower()


def _url(value: str) -> str:
    if not value.lower().startswith(_URL_SCHEMES):
        raise ValueError(f"must be a URL starting with {', '.join(_URL_SCHEMES)}, got {show(value)}")
    return value


def _env_name(value: str) -> str:
    if value.startswith("$"):
        raise ValueError(f"must be the variable's name without '$', got {show(value)}")
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"must be an environment variable name like SPEECH_KEY, got {show(value)}")
    return value


Text = Annotated[str, Strict(), Field(min_length=1)]
Number = Annotated[float, Strict(), AllowInfNan(False)]
Flag = Annotated[bool, Strict()]
Seconds = Annotated[float, AllowInfNan(False), BeforeValidator(parse_duration)]
TextList = Annotated[tuple[Text, ...], BeforeValidator(_listed)]
Language = Annotated[str, Strict(), AfterValidator(_language)]
Url = Annotated[str, Strict(), AfterValidator(_url)]
EnvName = Annotated[str, Strict(), AfterValidator(_env_name)]


def _field(default: Any, must: str, example: str, **constraints: Any) -> Any:
    """A field whose error says it ``must`` be something, with a YAML ``example`` as the fix."""
    return Field(default, description=must, json_schema_extra={"example": example}, **constraints)


class ResourceSpec(BaseModel):
    """One Speech resource of a ``resources:`` list: where it is (one of region, endpoint, host),
    how it signs in (the NAME of the variable with its key, or Entra ID) and its session limit.
    ``config/resource.py`` checks the combination."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    region: Annotated[str, Strict(), AfterValidator(_region)] | None = None
    endpoint: Url | None = None
    host: Url | None = None
    key_env: EnvName | None = None  # default: the job's key_env (or SPEECH_KEY)
    entra: Flag = False
    resource_id: Annotated[str, Strict()] = ""
    max_sessions: Annotated[int, Strict(), Field(ge=1, le=1000)] | None = None  # default: workers
    name: Annotated[str, Strict()] = ""

    def where(self) -> tuple[str, str]:
        """(kind, location): which one of region, endpoint and host is given; ("", "") if not
        exactly one."""
        given = [(kind, value) for kind in ("region", "endpoint", "host") if (value := getattr(self, kind))]
        return given[0] if len(given) == 1 else ("", "")


def _resources(value: tuple[ResourceSpec, ...]) -> tuple[ResourceSpec, ...]:
    for spec in value:
        if not spec.where()[0]:
            raise ValueError("each resource takes exactly one of region, endpoint or host")
    return value


Share = Annotated[float, Strict(), AllowInfNan(False), Field(ge=0, le=1)]
PositiveSeconds = Annotated[float, Strict(), AllowInfNan(False), Field(gt=0, le=DAY)]
PerMinute = Annotated[float, Strict(), AllowInfNan(False), Field(ge=0, le=10_000)]


class QualitySpec(BaseModel):
    """The ``quality:`` block: thresholds of the report's quality triage that differ from the
    defaults (``outputs.quality.QualityThresholds``, where each is explained); unset ones keep them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low_confidence: Share | None = None
    very_low_confidence: Share | None = None
    low_word_confidence: Share | None = None
    low_word_share: Share | None = None
    silent_gap_s: PositiveSeconds | None = None
    ends_early_s: PositiveSeconds | None = None
    ends_early_share: Share | None = None
    min_words_per_minute: PerMinute | None = None
    max_words_per_minute: PerMinute | None = None
    rate_min_speech_s: PositiveSeconds | None = None

    def given(self) -> dict[str, float]:
        return {name: float(value) for name, value in self if value is not None}


class JobSpec(BaseModel):
    """One block of job fields: the ``defaults`` block or one job. Unset fields keep these defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # what to transcribe and where to write
    inputs: TextList = _field((), "a list of files or folders", "[/srv/recordings/calls]")
    include: TextList = _field((), "a list of glob patterns", '["*.wav", "2024-*/**"]')
    exclude: TextList = _field((), "a list of glob patterns", '["*/test/*"]')
    out: Text = _field("transcripts", "the path of the output folder", "/srv/transcripts/calls")
    formats: Annotated[tuple[Text, ...], BeforeValidator(_comma_listed), AfterValidator(_formats)] = _field(
        ("json", "txt"), f"a list of output formats ({', '.join(OUTPUT_FORMATS)})", "[json, txt, srt]"
    )
    timestamps: Flag = _field(False, "true or false", "true")
    settle: Seconds = _field(0.0, "0 or more seconds, or a duration like 60s or 5m", "60", ge=0, le=WEEK)
    # which of Azure's transcription modes: real-time sessions, fast transcription, batch jobs
    engine: Literal["realtime", "fast", "batch"] = _field("realtime", "realtime, fast or batch", "fast")
    # what to recognize and how
    language: Language = _field("en-US", "a language tag like en-US", "en-US")
    languages: Annotated[tuple[Language, ...], BeforeValidator(_comma_listed), AfterValidator(_languages)] = (
        _field((), f"a list of up to {MAX_LANGUAGES} language tags", "[en-US, de-DE, fr-FR]")
    )
    word_timestamps: Flag = _field(False, "true or false", "true")
    simple: Flag = _field(False, "true or false", "true")
    profanity: Literal["masked", "removed", "raw"] = _field("masked", "masked, removed or raw", "masked")
    phrases: Text | None = _field(None, "the path of a phrase-list file", "phrases/calls.txt")
    endpoint_id: Annotated[str, Strict()] = _field(
        "", "a custom speech endpoint id", "0a1b2c3d-1234-4abc-9def-0123456789ab"
    )
    diarize: Flag = _field(False, "true or false", "true")
    channels: Literal["mix", "separate"] = _field("mix", "mix or separate", "separate")
    split: Literal["auto", "off"] = _field("auto", "auto or off", "off")
    chunk_seconds: Seconds | None = _field(
        None, "from 10 seconds to 4 hours, or a duration like 5m", "5m", ge=10, le=4 * 3600
    )
    # how hard to push and when to stop
    workers: Annotated[int, Strict()] = _field(8, "a whole number of at least 1", "8", ge=1, le=1000)
    retries: Annotated[int, Strict()] = _field(3, "a whole number, 0 or more", "3", ge=0, le=100)
    stall_timeout: Seconds = _field(
        60.0, "a positive number of seconds, or a duration like 90s", "90s", gt=0, le=DAY
    )
    max_hours: Number | None = _field(None, "a positive number of audio hours", "20", gt=0, le=1e6)
    max_cost: Number | None = _field(None, "a positive amount", "25", gt=0, le=1e9)
    price_per_hour: Number = _field(DEFAULT_PRICE_PER_HOUR, "an amount, 0 or more", "1.0", ge=0, le=1e4)
    max_runtime: Seconds | None = _field(
        None, "positive seconds, or a duration like 5h", "5h", gt=0, le=MONTH
    )
    max_runtime_grace: Seconds = _field(600.0, "seconds, or a duration like 10m", "10m", ge=0, le=DAY)
    # where the Speech service is and how to find its key (never the key itself)
    region: Annotated[str, Strict(), AfterValidator(_region)] | None = _field(
        None, "an Azure region name", "westeurope"
    )
    endpoint: Url | None = _field(None, "a URL", "https://my-speech.cognitiveservices.azure.com")
    host: Url | None = _field(None, "a URL", "ws://localhost:5000")
    key_env: EnvName | None = _field(None, "the name of an environment variable", "CALLS_SPEECH_KEY")
    region_env: EnvName | None = _field(None, "the name of an environment variable", "CALLS_SPEECH_REGION")
    resources: Annotated[tuple[ResourceSpec, ...], AfterValidator(_resources)] = _field(
        (),
        "a list of Speech resources, each with one of region, endpoint or host, and key_env or "
        "entra: true, max_sessions and name optional",
        "[{region: westeurope, key_env: WEU_SPEECH_KEY}, {region: eastus, key_env: EUS_SPEECH_KEY}]",
    )
    key_file: Text | None = _field(None, "the path of a file holding the key", "/etc/batchscribe/speech.key")
    # the built-in local stand-in for the Speech service, and an advanced knob
    emulate: Flag = _field(False, "true or false", "true")
    emulator_transcripts: Text | None = _field(None, "the path of a transcripts file", "transcripts.yaml")
    emulator_speed: Number | None = _field(None, "a positive number (times real time)", "10", gt=0, le=1000)
    sdk_send_rate: Number | None = _field(None, "a positive number (times real time)", "4", gt=0, le=1000)
    # the morning report: the cost's currency, and when a transcript is flagged for a look
    currency: Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Za-z]{3}$")] = _field(
        "USD", "a three-letter currency code", "EUR"
    )
    quality: QualitySpec = _field(
        QualitySpec(), "a mapping of quality thresholds", "{low_confidence: 0.6, silent_gap_s: 90}"
    )
    # summaries of every transcript with an Azure OpenAI deployment (issue 21; the key only from
    # AZURE_OPENAI_API_KEY, else Entra ID)
    summarize: Flag = _field(False, "true or false", "true")
    openai_endpoint: Url | None = _field(None, "a URL", "https://my-openai.openai.azure.com")
    openai_deployment: Annotated[str, Strict(), Field(min_length=1)] | None = _field(
        None, "the name of a chat model deployment", "gpt-4o-mini"
    )
    summary_prompt: Text | None = _field(None, "the path of a prompt file", "prompts/calls.md")
    price_per_1k_tokens: Number = _field(
        DEFAULT_PRICE_PER_1K_TOKENS, "an amount, 0 or more", "0.005", ge=0, le=1e4
    )
    openai_context_tokens: Annotated[int, Strict()] = _field(
        128_000, "a whole number of tokens, at least 4000", "128000", ge=4000, le=10_000_000
    )
    # the fast engine (--engine fast): speakers to tell apart with diarize, requests per minute
    max_speakers: Annotated[int, Strict()] = _field(2, "a whole number from 2 to 35", "4", ge=2, le=35)
    requests_per_minute: Annotated[int, Strict()] = _field(
        600, "a whole number of at least 1", "300", ge=1, le=100_000
    )
    # --engine batch: the Blob Storage container recordings go to, and how its jobs are run
    storage: Text | None = _field(
        None, "a container name or a container URL", "https://myaccount.blob.core.windows.net/recordings"
    )
    storage_access: Literal["sas", "trusted"] = _field("sas", "sas or trusted", "trusted")
    batch_size: Annotated[int, Strict()] = _field(1000, "a whole number from 1 to 1000", "500", ge=1, le=1000)
    no_wait: Flag = _field(False, "true or false", "true")
    # unset: engines/batch/settings.py's default (Azure's pace, or the emulator's with emulate)
    poll_interval: Seconds | None = _field(
        None, "positive seconds, or a duration like 10m", "10m", gt=0, le=DAY
    )
    keep_uploads: Flag = _field(False, "true or false", "true")


def _empty_is_nothing(value: object) -> object:
    """``defaults:`` or ``calls:`` with every line commented out is an empty block, not an error."""
    return {} if value is None else value


Block = Annotated[JobSpec, BeforeValidator(_empty_is_nothing)]
JobName = Annotated[str, Strict(), StringConstraints(pattern=rf"^{JOB_NAME.pattern}$")]


class JobsFileSpec(BaseModel):
    """The whole file: a ``defaults`` block and the named ``jobs``, in file order."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    defaults: Annotated[Block, Field(default_factory=JobSpec)]
    jobs: Annotated[dict[JobName, Block], Field(min_length=1)]


# Fields that say the same thing different ways: a job setting one of them replaces whatever the
# defaults said for the whole group, and one block may not set two of them.
ALTERNATIVES = (
    ("language", "languages"),
    ("region", "endpoint", "host", "resources"),
    ("key_env", "key_file"),
)


def overlay(base: JobSpec, top: JobSpec) -> JobSpec:
    """``base`` with the fields ``top`` sets. Setting one of a group of alternatives
    (language/languages, region/endpoint/host, key_env/key_file) replaces the base's whole group."""
    update = {f: getattr(top, f) for f in top.model_fields_set}
    for group in ALTERNATIVES:
        if update.keys() & set(group):
            for f in group:
                update.setdefault(f, JobSpec.model_fields[f].default)
    return base.model_copy(update=update)


def alternatives_set(block: JobSpec) -> list[tuple[str, ...]]:
    """The groups of alternatives of which ``block`` sets more than one (the fields it sets, in
    group order)."""
    given = [tuple(f for f in group if f in block.model_fields_set) for group in ALTERNATIVES]
    return [fields for fields in given if len(fields) > 1]
