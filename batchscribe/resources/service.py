"""Where a run's audio goes: its Speech resources made ready (an in-process emulator for
``--emulate``, Entra ID sign-in kept fresh), and the factory that builds the engine for one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace

from batchscribe.config.entra import TokenProvider, TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine
from batchscribe.errors import UsageError


@contextlib.contextmanager
def endpoints_for(
    settings: RunSettings, credential: TokenSource | None = None
) -> Iterator[tuple[Endpoint, ...]]:
    """Every Speech resource of the run, ready to use: an in-process emulator for ``--emulate``;
    one signing in with Entra ID gets a ``TokenProvider`` (over ``credential``, by default
    azure-identity's ``DefaultAzureCredential``), kept fresh until the run ends."""
    if len(settings.resources) < 2 and not settings.endpoint.entra:
        with endpoint_for(settings) as endpoint:
            yield (endpoint,)
        return
    with contextlib.ExitStack() as stack:
        yield tuple(_signed_in(e, credential, stack) for e in settings.endpoints)


def _signed_in(endpoint: Endpoint, credential: TokenSource | None, stack: contextlib.ExitStack) -> Endpoint:
    if not endpoint.entra or endpoint.resource is None:
        return endpoint
    resource_id = endpoint.resource.resource_id if endpoint.kind == "region" else ""
    tokens = TokenProvider(credential, resource_id=resource_id)
    tokens.start()
    stack.callback(tokens.close)
    return replace(endpoint, tokens=tokens)


@contextlib.contextmanager
def endpoint_for(settings: RunSettings) -> Iterator[Endpoint]:
    """The settings' endpoint, or an in-process emulator for ``--emulate``."""
    if not settings.endpoint.resolved:
        raise UsageError("these settings were resolved without credentials", hint="resolve them for a run")
    if settings.endpoint.kind != "emulator" or settings.endpoint.url:
        yield settings.endpoint
        return
    from batchscribe.emulator import Emulator, Transcripts
    from batchscribe.emulator.scripts import default_path

    # Without --emulator-transcripts: what `batchscribe emulator script add` wrote, if anything.
    transcripts = Transcripts.load(settings.emulator_transcripts or default_path(), missing_ok=True)
    with Emulator(transcripts=transcripts, speed=settings.emulator_speed) as emulator:
        # The fast and batch engines speak HTTP to the emulator's REST side, the SDK websockets
        # to the other.
        url = emulator.rest_url if settings.engine in ("fast", "batch") else emulator.url
        yield replace(settings.endpoint, url=url, rest_url=emulator.rest_url)


EngineFactory = Callable[[RunSettings, Endpoint, Congestion], Engine]
"""Builds a run's engine: (settings, the endpoint to use, where to report the service's pushback)."""


def azure_engine(settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
    """The real engine: the Speech SDK (or, with ``--engine fast``, the fast transcription API),
    against Azure, a container or the emulator."""
    if settings.engine == "fast":
        from batchscribe.resources.fast_setup import fast_engine

        engine: Engine = fast_engine(settings, endpoint, congestion)
        return engine
    if settings.engine != "realtime":
        raise UsageError(
            f"--engine {settings.engine} is not available in this version", hint="use --engine realtime"
        )
    from batchscribe.engines.azure import AzureEngine

    return AzureEngine(
        endpoint,
        settings.options,
        stall_timeout=settings.stall_timeout,
        send_rate=settings.sdk_send_rate,
        congestion=congestion,
    )
