"""Where a ``--engine batch`` run's jobs and uploads go, made ready for the run's duration.

Against Azure: the settings as they are. Under ``--emulate``: the in-process emulator's REST side
serves the batch API (``service.endpoint_for``), and, unless ``--storage`` names a container,
Azurite (``emulator/azurite.py``) is started for the run with its development account and the
container ``EMULATED_CONTAINER``; both stop when the block ends. The batch engine then finds the
container through ``AZURE_STORAGE_CONNECTION_STRING`` in the environment given back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from batchscribe.config.settings import RunSettings
from batchscribe.resources.service import endpoint_for

EMULATED_CONTAINER = "batchscribe-emulated"


@dataclass(frozen=True)
class BatchService:
    """The run's settings with the endpoint and container made ready, and the environment the
    container's credentials are read from."""

    settings: RunSettings
    env: Mapping[str, str]


@contextlib.contextmanager
def batch_service_for(settings: RunSettings, env: Mapping[str, str] | None = None) -> Iterator[BatchService]:
    """The batch endpoint and container for the run, ready until the block ends."""
    env = os.environ if env is None else env
    if settings.endpoint.kind != "emulator":
        yield BatchService(settings, env)
        return
    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(endpoint_for(settings))  # the emulator, then Azurite
        yield stack.enter_context(emulated_storage(replace(settings, endpoint=endpoint), env))


@contextlib.contextmanager
def emulated_storage(settings: RunSettings, env: Mapping[str, str]) -> Iterator[BatchService]:
    """``--storage`` when given; else Azurite started for the block, and a container in it."""
    if settings.batch.storage:
        yield BatchService(settings, env)
        return
    from batchscribe.emulator.azurite import running_azurite
    from batchscribe.engines.batch.storage import CONNECTION_STRING_VARIABLE

    with running_azurite() as azurite:
        # Read through SAS URLs: the emulator is no managed identity that Azurite would trust.
        storage = replace(settings.batch, storage=EMULATED_CONTAINER, storage_access="sas")
        yield BatchService(
            replace(settings, batch=storage), {**env, CONNECTION_STRING_VARIABLE: azurite.connection_string}
        )
