"""``batchscribe emulator``: run the Speech service stand-in, and script what it says.

    batchscribe emulator [--port N] [--transcripts FILE] [--speed X] [--fault SPEC]... [--key-env NAME]
    batchscribe emulator script add FILE --text "..." | --phrase "..."... | --text-file F

The first line ``serve`` prints is exactly ``listening on ws://HOST:PORT`` (the real port when
``--port 0``); it runs until SIGINT or SIGTERM. The main CLI mounts ``emulator_app``;
``python -m batchscribe.emulator`` runs it alone. Errors end it as one line and an exit code
(``cli/exits.py``).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from batchscribe.cli.exits import OneLineErrors
from batchscribe.emulator.defaults import ENV_VAR, TURN_SECONDS
from batchscribe.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from batchscribe.emulator.scripts import ScriptPhrase

emulator_app = typer.Typer(
    help="The local stand-in for the Azure Speech service (USP over websocket). Serves until "
    "SIGINT/SIGTERM; the first line printed is `listening on ws://HOST:PORT`.\n\n"
    "Fault specs (--fault, repeatable): http:CODE refuses the upgrade; close:CODE[:reason=TEXT]; "
    "reset (TCP RST); stall (accept, never answer); status:NAME sends that RecognitionStatus. "
    "Options: after=3s (audio received on the connection first), first=N (only the first N "
    "connections), sessions=K (every connection of the first K sessions). "
    "Example: --fault 'close:1007:reason=Quota exceeded:after=2s'",
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
script_app = typer.Typer(help="Say what the emulator answers for a recording.", cls=OneLineErrors)
emulator_app.add_typer(script_app, name="script")

TranscriptsOption = Annotated[
    Path | None,
    typer.Option(
        "--transcripts",
        envvar=ENV_VAR,
        help="Transcripts file (default: ./emulator-transcripts.yaml).",
        show_default=False,
    ),
]


@emulator_app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 0,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    transcripts: TranscriptsOption = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Answer at this many times real time (default: as fast as audio arrives)."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="Inject a fault, e.g. http:429:first=2, close:1011:after=3s, reset:after=2s, "
            "stall, status:TooManyRequests:sessions=1. Repeatable."
        ),
    ] = None,
    faults_file: Annotated[
        Path | None, typer.Option(help="A file of fault specs, one per line (# comments).")
    ] = None,
    max_sessions: Annotated[
        int | None, typer.Option(help="Concurrent sessions allowed; more get HTTP 429.")
    ] = None,
    turn_seconds: Annotated[
        float,
        typer.Option(
            help="End each turn after this much audio, as the live service does every 600 s; the "
            "SDK goes on in a new turn. 0: no limit."
        ),
    ] = TURN_SECONDS,
    rest_port: Annotated[
        int,
        typer.Option(help="Port of the REST APIs (fast and batch transcription, OpenAI); 0: a free one."),
    ] = 0,
    key_env: Annotated[
        str | None,
        typer.Option(
            help="Require the subscription key held by this environment variable (others get HTTP 401), "
            "as the live service does; never give the key itself on the command line.",
            metavar="NAME",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log connections.")] = False,
    openai_fault: Annotated[
        list[str] | None,
        typer.Option(
            help="Break the OpenAI chat completions route: 429, 500, content_filter, invalid_json or "
            "stall, options first=N, match=TEXT, retry_after=S, seconds=S; e.g. 429:first=2. Repeatable."
        ),
    ] = None,
    openai_context_tokens: Annotated[
        int | None,
        typer.Option(help="Answer context_length_exceeded to chat requests longer than this (tokens)."),
    ] = None,
) -> None:
    """Serve until SIGINT/SIGTERM (the group's help says how)."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from batchscribe.emulator import faults as fault_specs
    from batchscribe.emulator.runtime import Emulator
    from batchscribe.emulator.scripts import Transcripts, default_path

    specs = [fault_specs.parse_fault(s) for s in fault or ()]
    if faults_file is not None:
        specs += fault_specs.load_faults_file(faults_file)
    path = transcripts or default_path()
    scripts = Transcripts.load(path, missing_ok=transcripts is None)
    key = _required_key(key_env)
    emulator = Emulator(
        transcripts=scripts, speed=speed, faults=specs, max_sessions=max_sessions,
        host=host, port=port, turn_seconds=turn_seconds or None, rest_port=rest_port, key=key,
        openai_faults=openai_fault or (), openai_context_tokens=openai_context_tokens,
    )  # fmt: skip
    emulator.start()
    try:
        with _stop_on_signal() as stop:  # handlers first: a signal right after "listening" is ours
            typer.echo(f"listening on {emulator.url}")
            typer.echo(f"REST APIs on {emulator.rest_url}")
            sys.stdout.flush()
            detail = (
                f"{len(scripts.entries)} scripted recordings from {path}"
                if scripts.entries
                else (f"no transcripts at {path}: placeholder text")
            )
            keys = f"; requires the key in ${key_env}" if key_env else "; any key"
            chat = f"; chat completions faults: {', '.join(openai_fault)}" if openai_fault else ""
            typer.echo(f"{detail}; faults: {', '.join(map(str, specs)) or 'none'}{chat}{keys}", err=True)
            stop.wait()
    finally:
        emulator.stop()
    typer.echo("stopped", err=True)


def _required_key(variable: str | None) -> str | None:
    """The key the emulator requires: from the environment variable named, never from a value."""
    if variable is None:
        return None
    key = os.environ.get(variable, "").strip()
    if not key:
        raise UsageError(
            f"--key-env: {variable} is not set", hint=f"export {variable}=<the key clients must send>"
        )
    return key


@contextmanager
def _stop_on_signal() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM (a handler that sets it wakes ``wait()`` at once)."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _decode(path: Path, channel: int | None = None) -> np.ndarray:
    """The recording (or one channel) as 16 kHz mono float samples, via the pipeline's decoder."""
    import numpy as np

    from batchscribe.audio import SAMPLE_RATE, open_pcm

    assert SAMPLE_RATE == 16_000
    chunks = []
    with open_pcm(path, channel=channel) as reader:
        while chunk := reader.read(1 << 20):
            chunks.append(chunk)
    return np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32768.0


@script_app.command("add")
def script_add(
    file: Annotated[Path, typer.Argument(help="The recording (any format the pipeline reads).")],
    text: Annotated[str | None, typer.Option(help="The whole transcript; spread over segments.")] = None,
    phrase: Annotated[
        list[str] | None,
        typer.Option(
            help="One phrase; repeat in order, one per segment. A phrase may start with its own "
            "speaker and language: '[speaker=Guest-2 language=fr-FR] Bonjour.'",
            metavar="TEXT",
        ),
    ] = None,
    text_file: Annotated[
        Path | None,
        typer.Option(help="A UTF-8 file with one phrase per line (each may start as --phrase says)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--id", help="Name in stats (default: the file name).")] = None,
    speaker: Annotated[
        str | None, typer.Option(help="SpeakerId for every phrase (with run --diarize).")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="PrimaryLanguage for every phrase (with run --languages).")
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="A fault for this recording, e.g. close:1011:sessions=2.")
    ] = None,
    channel: Annotated[
        int | None,
        typer.Option(
            help="Only this channel (0 = left), as `run --channels separate` sends it; a run that "
            "mixes the channels gets every channel scripted so."
        ),
    ] = None,
    transcripts: TranscriptsOption = None,
) -> None:
    """Add (or replace) the entry for FILE, found later by the sound of its audio."""
    from batchscribe.emulator import faults as fault_specs
    from batchscribe.emulator.scripts import (
        Transcripts,
        default_path,
        make_entry,
        place_phrases,
        split_text,
    )
    from batchscribe.emulator.segmenter import find_segments

    given = [x for x in (text, phrase, text_file) if x]
    if len(given) != 1:
        raise UsageError("give exactly one of --text, --phrase (repeatable) or --text-file")
    faults = [fault_specs.parse_recording_fault(s) for s in fault or ()]
    _check_recording(file)
    samples = _decode(file, channel)
    mix = _decode(file) if channel is not None else None  # as a mixed run sends it
    segments = find_segments(samples, 16_000)
    if text is not None:
        phrases = [replace(p, speaker=speaker, language=language) for p in split_text(text, segments)]
    else:
        tagged = [_tagged(line, speaker, language) for line in phrase or _read_lines(text_file)]
        placed = place_phrases([t.text for t in tagged], segments)
        phrases = [replace(t, start=p.start, end=p.end) for t, p in zip(tagged, placed, strict=True)]
    entry = make_entry(
        entry_id=name or (file.name if channel is None else f"{file.name}#ch{channel}"),
        source=file.name, samples=samples, sample_rate=16_000,
        phrases=phrases, faults=faults, channel=channel, mix=mix,
    )  # fmt: skip
    path = transcripts or default_path()
    Transcripts.load(path).with_entry(entry).save(path)
    typer.echo(
        f"added {entry.id}: {len(phrases)} phrases on {len(segments)} segments, "
        f"{entry.duration:.1f} s, to {path}"
    )


_TAGS = re.compile(r"\[((?:\s*(?:speaker|language)=\S+?\s*)+)\]\s*(.*)", re.DOTALL)


def _tagged(line: str, speaker: str | None, language: str | None) -> ScriptPhrase:
    """A phrase from ``[speaker=Guest-2 language=fr-FR] text`` (either tag optional) or plain text;
    the tags override --speaker and --language for this phrase."""
    from batchscribe.emulator.scripts import ScriptPhrase

    found = _TAGS.fullmatch(line.strip())
    if not found:
        return ScriptPhrase(line.strip(), speaker=speaker, language=language)
    tags = dict(pair.split("=", 1) for pair in found.group(1).split())
    return ScriptPhrase(
        found.group(2).strip(), speaker=tags.get("speaker", speaker), language=tags.get("language", language)
    )


def _check_recording(path: Path) -> None:
    """A missing or non-file FILE is a mistake in the command, not a recording that went away."""
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="give the path of a recording")
    if not path.is_file():
        raise UsageError(f"{path} is not a file", hint="give the path of a recording")


def _read_lines(path: Path | None) -> list[str]:
    assert path is not None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return [line.strip() for line in lines if line.strip()]
