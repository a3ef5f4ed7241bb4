"""``batchscribe doctor``: check everything a run needs, one line per check.

Credentials present, the endpoint reachable (a one-second silent session through the real
engine), the output folder writable, the decoder available, the state readable, the lock free.
Each check returns a ``Check``; none raises, so one failure never hides the others.
"""

from __future__ import annotations

import sqlite3
import tempfile
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from batchscribe import audio
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import RecognitionRequest
from batchscribe.errors import BatchscribeError, LockHeldError
from batchscribe.outputs.layout import STATE_DIR
from batchscribe.pipeline.batch import endpoint_for
from batchscribe.pipeline.cancel import CancelToken
from batchscribe.pipeline.ledger import Ledger, RunLock
from batchscribe.secrets import Redactor

PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def _silent_wav(folder: Path) -> Path:
    path = folder / "doctor-probe.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.SAMPLE_RATE)
        out.writeframes(b"\x00\x00" * int(audio.SAMPLE_RATE * PROBE_SECONDS))
    return path


def check_credentials(settings: RunSettings) -> Check:
    endpoint = settings.endpoint
    keyed = "with a key" if endpoint.key and endpoint.kind != "emulator" else "without a key"
    return Check("credentials", True, f"{endpoint.describe()} ({keyed})")


def check_endpoint(settings: RunSettings, endpoint: Endpoint) -> Check:
    """One second of silence through the real engine: proves the address, the key and the region."""
    from batchscribe.engines.azure import AzureEngine

    redact = Redactor(endpoint.secrets)
    engine = AzureEngine(endpoint, settings.options, stall_timeout=min(settings.stall_timeout, 15.0))
    try:
        with tempfile.TemporaryDirectory(prefix="batchscribe-doctor-") as folder:
            path = _silent_wav(Path(folder))
            request = RecognitionRequest(path, audio.probe(path), label="doctor probe")
            engine.transcribe(request, on_progress=lambda _: None, cancel=CancelToken())
    except BatchscribeError as exc:
        return Check("endpoint", False, redact(exc.message), exc.hint)
    finally:
        engine.close()
    return Check("endpoint", True, f"{endpoint.describe()} answered a {PROBE_SECONDS:g} s probe session")


def check_output_folder(out: Path) -> Check:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".batchscribe-doctor-"):
            pass
    except OSError as exc:
        return Check(
            "output folder", False, f"{out} is not writable: {exc.strerror}", "choose a writable --out"
        )
    return Check("output folder", True, f"{out} is writable")


def check_decoder() -> Check:
    try:
        import av

        codecs = [name for name in ("mp3", "aac", "opus", "flac", "vorbis") if name in av.codecs_available]
    except Exception as exc:  # an ImportError or a broken FFmpeg build
        return Check(
            "decoder", False, f"PyAV cannot be loaded: {exc}", "reinstall batchscribe (pip install -e .)"
        )
    return Check("decoder", True, f"PyAV {av.__version__} with FFmpeg decoders for {', '.join(codecs)}")


def check_state(out: Path) -> Check:
    try:
        ledger = Ledger(out, read_only=True)
        rows = ledger.rows()
        ledger.close()
    except BatchscribeError as exc:
        return Check("state", False, exc.message, exc.hint)
    except (OSError, sqlite3.Error) as exc:
        return Check("state", False, f"cannot read the state in {out / STATE_DIR}: {exc}",
                     f"check the permissions of {out / STATE_DIR}")  # fmt: skip
    if ledger.damaged:
        fix = "the next run moves it aside and rebuilds it from the transcripts on disk"
        return Check("state", False, ledger.damaged, fix)
    return Check("state", True, f"{len(rows)} recordings recorded under {out}")


def check_lock(out: Path) -> Check:
    lock = RunLock(out)
    try:
        lock.acquire()
    except LockHeldError as exc:
        return Check("lock", False, exc.message, exc.hint)
    except BatchscribeError as exc:
        return Check("lock", False, exc.message, exc.hint)
    lock.release()
    return Check("lock", True, "no other run is using the output folder")


def run_checks(settings: RunSettings) -> Iterator[Check]:
    """Every check in order; the endpoint probe only when the output folder can be used."""
    yield check_credentials(settings)
    with endpoint_for(settings) as endpoint:
        yield check_endpoint(settings, endpoint)
    checks: list[Callable[[], Check]] = [
        lambda: check_output_folder(settings.out),
        check_decoder,
        lambda: check_state(settings.out),
        lambda: check_lock(settings.out),
    ]
    for check in checks:
        yield check()
