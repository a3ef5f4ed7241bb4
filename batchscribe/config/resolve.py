"""The one translation from what the user asked to ``RunSettings``, for the command line and jobs.

A validated ``JobSpec`` (options given on the command line, a job of the jobs file, or a job with
command-line options over it, see ``schema.overlay``) and its ``Origin`` go in; ``RunSettings``
come out. The origin says where each field came from, so every error names its source the way the
user wrote it: ``--phrases: cannot read ...`` or ``jobs.yaml:12: jobs.calls.phrases: cannot read ...``;
and it resolves paths where they were given (the working folder, or the jobs file's folder).

Credentials are read only when asked for (``plan`` never needs a key). Keys come only from
environment variables or a key file, never from a command-line value (it would show in ``ps``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from batchscribe.config.origin import Origin
from batchscribe.config.regions import unknown_region
from batchscribe.config.resource import Resource
from batchscribe.config.schema import JobSpec
from batchscribe.config.settings import Endpoint, RunSettings, read_phrase_list
from batchscribe.config.summaries import resolve_summaries
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.batch.settings import BatchSettings, check_storage, poll_interval
from batchscribe.engines.fast_mapping import FastLimits
from batchscribe.errors import UsageError
from batchscribe.outputs.quality import DEFAULT_THRESHOLDS
from batchscribe.secrets import key_problem

KEY_VARIABLES = ("SPEECH_KEY", "AZURE_AI_SPEECH_KEY")
REGION_VARIABLES = ("SPEECH_REGION", "AZURE_AI_SPEECH_REGION")
NO_OPTION = frozenset({"key_env", "region_env", "quality"})  # job fields the command line does not have
UNRESOLVED = Endpoint(kind="unresolved")
MIN_STALL_TIMEOUT_S = 1.0


def option_name(field: str) -> str:
    """The command-line spelling of a spec field: ``max_runtime`` -> ``--max-runtime``."""
    return "INPUTS" if field == "inputs" else "" if field in NO_OPTION else "--" + field.replace("_", "-")


class CommandLine:
    """Every field came from a command-line option."""

    job = ""

    def where(self, field: str | None = None) -> str:
        return option_name(field) if field else ""

    def spell(self, field: str) -> str:
        return option_name(field) or field

    def example(self, field: str, value: str) -> str:
        return f"{self.spell(field)} {value}"

    def path(self, field: str, value: str) -> Path:
        return Path(value)

    def error(self, field: str | None, message: str, hint: str) -> UsageError:
        where = self.where(field)
        return UsageError(f"{where}: {message}" if where else message, hint=hint)


def check_spec(spec: JobSpec, origin: Origin, *, need_inputs: bool = True) -> None:
    """What no single field can say, for a whole (merged) spec."""
    if need_inputs and not spec.inputs:
        if origin.job:
            fix = "list what to transcribe, e.g. inputs: [/srv/recordings/calls]"
            raise origin.error(None, "the job has no inputs", fix)
        raise origin.error(
            None,
            "nothing to transcribe",
            "give files or folders (batchscribe run ./recordings) or --jobs FILE",
        )
    if spec.max_cost is not None and spec.price_per_hour == 0:
        raise origin.error(
            "max_cost",
            f"needs a {origin.spell('price_per_hour')} above 0",
            f"e.g. {origin.example('price_per_hour', '1.0')}, or use {origin.spell('max_hours')} instead",
        )
    _check_regions(spec, origin)
    if spec.storage:  # a container Blob Storage would refuse: named as the user gave it
        check_storage(spec.storage, error=lambda message, hint: origin.error("storage", message, hint))
    if spec.emulate and spec.no_wait and spec.engine == "batch":
        # The next run would find nothing to collect, send them again, and leave them again.
        raise origin.error(
            "no_wait",
            f"leaves jobs at the service for the next run, but {origin.spell('emulate')}'s emulator "
            "ends with this run",
            f"drop {origin.spell('no_wait')}, or run `batchscribe emulator` and give its REST address "
            f"as {origin.spell('endpoint')}, with {origin.spell('storage')}",
        )
    if spec.stall_timeout < MIN_STALL_TIMEOUT_S:
        # Connecting alone takes longer: every session would be cancelled as "no connection".
        raise origin.error(
            "stall_timeout",
            f"{spec.stall_timeout:g} s is too short: connecting to the service alone takes longer, "
            "so every session would be cancelled as stalled",
            f"give at least {MIN_STALL_TIMEOUT_S:g} s, e.g. {origin.example('stall_timeout', '60')}",
        )
    if spec.endpoint_id and spec.languages:
        # The service refuses it for every session: a custom model serves one language.
        raise origin.error(
            "endpoint_id",
            f"cannot be combined with {origin.spell('languages')}",
            f"a custom speech model serves one language: use {origin.spell('language')} with it",
        )


def _check_regions(spec: JobSpec, origin: Origin) -> None:
    """An unknown region name is refused at once, before any DNS lookup or retry (regions.py)."""
    given = [("region", spec.region)] if spec.region else []
    listed = "resources" if origin.job else "region"  # a repeated --region makes the list
    given += [(listed, where[1]) for r in spec.resources if (where := r.where())[0] == "region"]
    for field, region in given:
        if problem := unknown_region(region):
            raise origin.error(field, *problem)


def resolve_settings(
    spec: JobSpec,
    origin: Origin,
    *,
    env: Mapping[str, str] | None = None,
    credentials: bool = True,
    need_inputs: bool = True,
) -> RunSettings:
    """``RunSettings`` from a validated spec: checks across fields, paths resolved where they were
    given, the phrase list read, and (with ``credentials``) the endpoint and its key found."""
    check_spec(spec, origin, need_inputs=need_inputs)
    env = os.environ if env is None else env
    resources = () if spec.emulate else resolve_resources(spec, origin, env, credentials=credentials)
    if resources and credentials:
        endpoint = resources[0]
    else:
        # unresolved: no key read, but where it would go is kept, so ``plan`` refuses what ``run`` would
        unresolved = replace(UNRESOLVED, url=spec.endpoint or "")
        # The emulator needs no credentials: ``plan --emulate`` knows where its run would go.
        endpoint = resolve_endpoint(spec, origin, env) if credentials or spec.emulate else unresolved
    return RunSettings(
        inputs=tuple(origin.path("inputs", p) for p in spec.inputs),
        out=origin.path("out", spec.out),
        endpoint=endpoint,
        resources=resources,
        options=RecognitionOptions(
            language=spec.language,
            languages=spec.languages,
            detailed=not spec.simple,
            word_timestamps=spec.word_timestamps,
            profanity=spec.profanity,
            phrases=_phrase_list(spec, origin),
            endpoint_id=spec.endpoint_id,
            diarize=spec.diarize,
        ),
        workers=_workers(spec, resources),
        retries=spec.retries,
        stall_timeout=spec.stall_timeout,
        formats=spec.formats,
        timestamps=spec.timestamps,
        channels=spec.channels,
        include=spec.include,
        exclude=spec.exclude,
        settle_seconds=spec.settle,
        split=spec.split,
        engine=spec.engine,
        chunk_seconds=spec.chunk_seconds,
        max_audio_hours=spec.max_hours,
        max_cost=spec.max_cost,
        price_per_hour=spec.price_per_hour,
        max_runtime_s=spec.max_runtime,
        max_runtime_grace_s=spec.max_runtime_grace,
        sdk_send_rate=spec.sdk_send_rate,
        emulator_transcripts=_optional_path(spec.emulator_transcripts, "emulator_transcripts", origin),
        emulator_speed=spec.emulator_speed,
        job_name=origin.job,
        currency=spec.currency.upper(),
        quality=replace(DEFAULT_THRESHOLDS, **spec.quality.given()),
        summaries=resolve_summaries(spec, origin, env, credentials=credentials),
        max_speakers=spec.max_speakers,
        fast_limits=FastLimits(requests_per_minute=spec.requests_per_minute),
        batch=BatchSettings(
            storage=spec.storage or "",
            storage_access=spec.storage_access,
            batch_size=spec.batch_size,
            no_wait=spec.no_wait,
            poll_interval_s=poll_interval(spec.poll_interval, emulated=spec.emulate),
            keep_uploads=spec.keep_uploads,
        ),
    )


def _optional_path(value: str | None, field: str, origin: Origin) -> Path | None:
    return None if value is None else origin.path(field, value)


def _phrase_list(spec: JobSpec, origin: Origin) -> tuple[str, ...]:
    if spec.phrases is None:
        return ()
    try:
        return read_phrase_list(origin.path("phrases", spec.phrases))
    except UsageError as exc:
        raise origin.error("phrases", exc.message, exc.hint) from exc


# --- where the audio goes, and with which key -------------------------------------------------


def resolve_endpoint(spec: JobSpec, origin: Origin, env: Mapping[str, str]) -> Endpoint:
    """Where recognition goes, from the spec and the environment; explains what is missing."""
    if spec.emulate:
        return Endpoint(kind="emulator", key="emulator")
    key_names = (spec.key_env,) if spec.key_env else KEY_VARIABLES
    region_names = (spec.region_env,) if spec.region_env else REGION_VARIABLES
    for_job = f" for job {origin.job!r}" if origin.job else ""
    cron = " in the environment the job runs in (cron does not read your shell profile)" if origin.job else ""
    key = _read_key_file(spec.key_file, origin) if spec.key_file else _first_set(env, key_names)
    if key and not spec.key_file and (problem := key_problem(key)):
        variable = next(name for name in key_names if env.get(name, "").strip())
        raise origin.error(
            "key_env", f"the key in {variable} {problem}", f"set {variable} to the resource's key alone"
        )
    if spec.host:
        return Endpoint(kind="host", key=key, url=spec.host.rstrip("/"))
    if not key:
        raise origin.error(
            "key_env",
            f"no Speech key{for_job}: {_not_set(key_names)}",
            f"set {key_names[0]}{cron}, or point {origin.spell('key_file')} at a file holding it; "
            f"for a key-less Speech container use {origin.spell('host')}, or try {origin.spell('emulate')}",
        )
    if spec.endpoint:
        return Endpoint(kind="endpoint", key=key, url=spec.endpoint)
    region = spec.region or _first_set(env, region_names)
    if not region:
        raise origin.error(
            "region_env",
            f"no Speech region{for_job}: {_not_set(region_names)}",
            f"set {region_names[0]} (e.g. westeurope){cron}, or give {origin.example('region', 'westeurope')}"
            f" or {origin.spell('endpoint')}",
        )
    if not spec.region and (unknown := unknown_region(region)):  # a given one is checked with the spec
        named = next((name for name in region_names if env.get(name, "").strip() == region), region_names[0])
        raise origin.error(None, f"{named}: {unknown[0]}", unknown[1])
    return Endpoint(kind="region", key=key, region=region)


def resolve_resources(
    spec: JobSpec, origin: Origin, env: Mapping[str, str], *, credentials: bool = True
) -> tuple[Endpoint, ...]:
    """The ``resources:`` list (or a repeated --region/--endpoint/--host), each an ``Endpoint`` with
    its ``Resource``; with ``credentials`` each key is read from the variable it names (a
    resource without ``key_env`` uses the job's ``key_env``, else SPEECH_KEY or AZURE_AI_SPEECH_KEY,
    whichever is set; a host may go without). Errors name the resource and where it was given."""
    resources = []
    for number, given in enumerate(spec.resources, 1):
        kind, location = given.where()
        try:
            resource = Resource(
                kind,  # type: ignore[arg-type]  # where() gives one of the three kinds
                location.rstrip("/") if kind != "region" else location,
                key_variable=_key_variable(spec, given.key_env, given.entra, kind, env),
                entra=given.entra,
                resource_id=given.resource_id,
                max_sessions=given.max_sessions or spec.workers,
                label=given.name,
            )
        except UsageError as exc:
            raise origin.error("resources", f"resource {number} ({exc.message})", _RESOURCE_FIX) from exc
        resources.append(resource)
    names = [r.name for r in resources]
    if twice := [n for i, n in enumerate(names) if n in names[:i]]:
        raise origin.error("resources", f"{twice[0]} is given twice", "give each resource once")
    if resources and spec.key_file and any(r.authentication != "entra" for r in resources):
        raise origin.error(
            "key_file",
            "serves one Speech resource, not several",
            f"name each resource's key variable ({origin.example('key_env', 'SPEECH_KEY')}, or key_env "
            "in each entry of resources:)",
        )
    return tuple(_resource_endpoint(r, origin, env, credentials) for r in resources)


_RESOURCE_FIX = "e.g. resources: [{region: westeurope, key_env: WEU_SPEECH_KEY}, {host: ws://localhost:5000}]"


def _key_variable(spec: JobSpec, own: str | None, entra: bool, kind: str, env: Mapping[str, str]) -> str:
    if own or entra:
        return own or ""
    if spec.key_env:
        return spec.key_env
    found = next((name for name in KEY_VARIABLES if env.get(name, "").strip()), "")
    return found if found or kind == "host" else KEY_VARIABLES[0]


def _resource_endpoint(
    resource: Resource, origin: Origin, env: Mapping[str, str], credentials: bool
) -> Endpoint:
    key = ""
    if credentials and resource.authentication == "key":
        try:
            key = resource.key(env)
        except UsageError as exc:
            raise origin.error("resources", exc.message, exc.hint) from exc
    if resource.kind == "region":
        return Endpoint(kind="region", key=key, region=resource.location, resource=resource)
    return Endpoint(kind=resource.kind, key=key, url=resource.location, resource=resource)


def _workers(spec: JobSpec, resources: tuple[Endpoint, ...]) -> int:
    """``workers``, or the session limit of the one resource given as a list of one."""
    if len(resources) == 1 and resources[0].resource is not None:
        return resources[0].resource.max_sessions
    return spec.workers


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((env[name].strip() for name in names if env.get(name, "").strip()), "")


def _not_set(names: tuple[str, ...]) -> str:
    return f"{names[0]} is not set" if len(names) == 1 else f"none of {', '.join(names)} is set"


MAX_KEY_FILE_BYTES = 4096  # a key is under 100 characters; anything bigger is the wrong file


def _read_key_file(value: str, origin: Origin) -> str:
    """The key in ``value``: a small regular file (never a FIFO, device or huge file, which would
    block or read without end) holding one line, the key."""
    path = origin.path("key_file", value)
    fix = f"point {origin.spell('key_file')} at a readable file holding only the key"
    try:
        raw = _small_regular_file(path, MAX_KEY_FILE_BYTES)
        key = raw.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise origin.error("key_file", f"cannot read the key file {path}: {reason}", fix) from exc
    except ValueError as exc:
        raise origin.error("key_file", f"the key file {path} {exc}", fix) from exc
    if not key or "\n" in key:
        raise origin.error(
            "key_file", f"the key file {path} must hold exactly one line: the Speech resource key", fix
        )
    if problem := key_problem(key):
        raise origin.error("key_file", f"the key in {path} {problem}", fix)
    return key


def _small_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``; ValueError when it is not a regular file of at most ``limit`` bytes.
    Opened without blocking, so a FIFO is refused instead of waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("is not a regular file (a FIFO, device or folder?)")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"is larger than {limit:,} bytes: a key file holds one short line")
    return data
