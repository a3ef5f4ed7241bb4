"""``batchscribe doctor``: check everything a run needs, one line per check.

Credentials present (a missing key is one failed line, the other checks still run); for each
Speech resource (several with a ``resources:`` list or a repeated --region/--endpoint/--host) the
endpoint reachable and the key
accepted (a one-second silent session through the real engine), the output folder writable,
the decoder available, the state readable, the lock free. An unknown region name is refused
before any check, as ``run`` and ``plan`` refuse it (``config/regions.py``).
Each check returns a ``Check``; none raises, so one failure never hides the others.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import wave
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from batchscribe import audio
from batchscribe.cancel import CancelToken
from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import RecognitionRequest
from batchscribe.engines.sdk_errors import unreachable
from batchscribe.errors import BatchscribeError, FatalEngineError, LockHeldError
from batchscribe.outputs.layout import STATE_DIR
from batchscribe.resources.limiter import AdaptiveLimiter
from batchscribe.resources.service import EngineFactory, azure_engine, endpoints_for
from batchscribe.secrets import Redactor
from batchscribe.state.ledger import Ledger, RunLock
from batchscribe.summaries.doctor import probe_summaries

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
    def signs_in(endpoint: Endpoint) -> str:
        if endpoint.entra:
            return "with Entra ID"
        return "with a key" if endpoint.key and endpoint.kind != "emulator" else "without a key"

    if len(settings.endpoints) == 1:
        detail = f"{settings.endpoint.name} ({signs_in(settings.endpoint)}; the probe says if it is accepted)"
        return Check("credentials", True, detail)
    each = "; ".join(f"{e.name} ({signs_in(e)})" for e in settings.endpoints)
    return Check("credentials", True, f"{each} (each probe says if it is accepted)")


def missing_credentials(error: BatchscribeError) -> list[Check]:
    """The lines for a run that has no usable credentials: it fails, and nothing can be probed."""
    return [
        Check("credentials", False, error.message, error.hint),
        Check("endpoint", False, "not probed: no credentials to probe with"),
    ]


def check_endpoint(
    settings: RunSettings, endpoint: Endpoint, engine_factory: EngineFactory = azure_engine
) -> Check:
    """One second of silence through the run's engine: proves the address, the key and the region."""
    redact = Redactor(endpoint.secrets, live=endpoint.tokens.secrets if endpoint.tokens else None)
    probe_settings = replace(settings, stall_timeout=min(settings.stall_timeout, 15.0))
    engine = engine_factory(probe_settings, endpoint, AdaptiveLimiter(1))
    try:
        with tempfile.TemporaryDirectory(prefix="batchscribe-doctor-") as folder:
            path = _silent_wav(Path(folder))
            request = RecognitionRequest(path, audio.probe(path), label="doctor probe")
            engine.transcribe(request, on_progress=lambda _: None, cancel=CancelToken())
    except FatalEngineError as exc:
        refused = exc.code == "auth_failed"
        probe = "request" if settings.engine == "fast" else "session"
        key_refused = f"the key was rejected by the probe {probe} (credentials refused)"
        if refused and endpoint.entra:
            key_refused = f"the Entra ID token was rejected by the probe {probe} (credentials refused)"
        rejected = key_refused if refused else exc.message
        return Check("endpoint", False, redact(f"{endpoint.name}: {rejected}"), exc.hint)
    except BatchscribeError as exc:
        reason = unreachable(exc)
        where = f" ({reason.what} at {reason.address})" if reason and reason.address else ""
        detail = redact(f"{endpoint.name}: {exc.message}{where}")
        return Check("endpoint", False, detail, reason.check if reason else exc.hint)
    finally:
        engine.close()
    if endpoint.entra:
        accepted = "the Entra ID token was accepted"
    elif settings.endpoint.kind == "emulator" or not endpoint.key:
        accepted = "no key sent"
    else:
        accepted = "the key was accepted"
    if settings.engine == "fast":  # a request is billed by its audio: say what the probe cost
        per_hour = settings.price_per_hour
        cost = PROBE_SECONDS / 3600 * per_hour
        probe = (
            f"answered a {PROBE_SECONDS:g} s fast transcription request ({accepted}; it cost "
            f"{PROBE_SECONDS:g} s of audio, about {cost:.5f} at --price-per-hour {per_hour:g})"
        )
    else:
        probe = f"answered a {PROBE_SECONDS:g} s probe session ({accepted})"
    return Check("endpoint", True, f"{endpoint.name} {probe}")


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


def check_speech_sdk() -> Check:
    """The Speech SDK's version, and whether finals are read natively or through its public
    signals (and why: ``engines/sdk_native.py``)."""
    try:
        from batchscribe.engines.azure import FINALS_PATH
    except Exception as exc:  # an ImportError or a broken native library
        return Check("speech sdk", False, f"the Speech SDK cannot be loaded: {exc}",
                     "reinstall batchscribe (pip install -e .)")  # fmt: skip
    return Check("speech sdk", True, FINALS_PATH.describe())


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


def _endpoint_checks(
    settings: RunSettings, engine_factory: EngineFactory, credential: TokenSource | None
) -> Iterator[Check]:
    with endpoints_for(settings, credential) as endpoints:
        for endpoint in endpoints:
            yield check_endpoint(settings, endpoint, engine_factory)
        if settings.summaries is not None:  # --summarize (issue 21)
            yield Check("summaries", *probe_summaries(settings, endpoints, credential))


def batch_checks(
    settings: RunSettings, *, env: Mapping[str, str] | None = None, credential: TokenSource | None = None
) -> Iterator[Check]:
    """``--engine batch``: the container, then the batch endpoint (``resources/batch_setup.py``
    probes them); ``credential``: Entra ID's, for a container URL and a resource signing in with
    it alike (the run's one credential)."""
    from batchscribe.resources.batch_service import emulated_storage
    from batchscribe.resources.batch_setup import probe_container, probe_endpoint, run_credential, signed_in
    from batchscribe.resources.service import endpoint_for

    credential = run_credential(settings, credential)
    with endpoint_for(settings) as endpoint:  # --emulate: the emulator (then Azurite) started
        settings = replace(settings, endpoint=endpoint)
        try:
            with emulated_storage(settings, os.environ if env is None else env) as ready:
                yield Check("storage", *probe_container(ready.settings, ready.env, credential))
        except BatchscribeError as exc:  # Azurite missing or not starting
            yield Check("storage", False, exc.message, exc.hint)
        with signed_in(settings, credential) as signed:
            yield Check("batch endpoint", *probe_endpoint(signed))


def run_checks(
    settings: RunSettings,
    credentials_error: BatchscribeError | None = None,
    engine_factory: EngineFactory = azure_engine,
    credential: TokenSource | None = None,
) -> Iterator[Check]:
    """Every check in order, whatever fails, each Speech resource probed through the engine
    ``run_batch`` would build; ``credentials_error``: why no endpoint could be made (``settings``
    then only serve the checks that need no service); ``credential``: Entra ID's token source."""
    if credentials_error is not None:
        yield from missing_credentials(credentials_error)
    else:
        yield check_credentials(settings)
        if settings.engine == "batch":  # the container and the batch endpoint, not a session
            yield from batch_checks(settings, credential=credential)
        else:
            yield from _endpoint_checks(settings, engine_factory, credential)
    checks: list[Callable[[], Check]] = [
        lambda: check_output_folder(settings.out),
        check_decoder,
        check_speech_sdk,
        lambda: check_state(settings.out),
        lambda: check_lock(settings.out),
    ]
    for check in checks:
        yield check()
