"""``--engine batch`` in a run: the engine built from the run's settings, and what ``doctor`` probes.

- ``batch_engine``: the REST client (``engines/batch/client``), the container
  (``engines/batch/storage``) and the job engine joining them (``engines/batch/engine``), from
  the run's settings.
- ``probe_container`` / ``probe_endpoint``: (ok, what was found, the fix) for the doctor's
  ``storage`` and ``batch endpoint`` lines (``doctor.batch_checks``). The container: created if
  missing; a small blob written, read back, read again through the URL the service would get,
  deleted. The batch endpoint: one list call (it costs nothing). Neither raises.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from batchscribe.config.settings import RunSettings
from batchscribe.errors import BatchscribeError, UsageError

if TYPE_CHECKING:  # httpx and azure-storage-blob: only for runs that use them
    from batchscribe.engines.batch.engine import BatchJobEngine
    from batchscribe.engines.batch.storage import BlobStore

PROBE = b"batchscribe doctor: a blob written, read and deleted again\n"


def batch_engine(
    settings: RunSettings, *, env: Mapping[str, str] | None = None, storage_credential: Any = None
) -> BatchJobEngine:
    """The run's batch engine; ``storage_credential``: an Entra ID ``TokenCredential`` for a
    container URL (tests inject one; by default azure-identity's ``DefaultAzureCredential``)."""
    from batchscribe.engines.batch.client import BatchClient, base_url
    from batchscribe.engines.batch.engine import BatchJobEngine, check_settings

    separate = settings.channels == "separate"
    check_settings(settings.options, channels_separate=separate)
    if not settings.batch.storage:
        raise UsageError(
            "--engine batch needs --storage: the Blob Storage container recordings are uploaded to",
            hint="--storage NAME (with AZURE_STORAGE_CONNECTION_STRING) or --storage https://ACCOUNT.blob.core.windows.net/CONTAINER",
        )
    endpoint = settings.endpoint
    if endpoint.entra or not endpoint.key:
        raise UsageError(
            "--engine batch signs in to the Speech resource with a key in this version",
            hint="set SPEECH_KEY (or --key-file)",
        )
    url = base_url(endpoint)
    storage = open_store(settings, env, storage_credential)
    client = BatchClient(url, {"Ocp-Apim-Subscription-Key": endpoint.key})
    return BatchJobEngine(client, storage, settings.options, channels_separate=separate, name="azure-batch")


def open_store(settings: RunSettings, env: Mapping[str, str] | None, credential: Any) -> BlobStore:
    """The container ``--storage`` names, made ready (created when missing)."""
    from batchscribe.engines.batch.storage import BlobStore

    return BlobStore.open(
        settings.batch.storage,
        access=settings.batch.storage_access,
        env=dict(env if env is not None else os.environ),
        credential=credential,
    )


def probe_container(
    settings: RunSettings, env: Mapping[str, str] | None = None, storage_credential: Any = None
) -> tuple[bool, str, str]:
    """(ok, what was found, the fix) for the doctor's ``storage`` line."""
    import httpx

    if not settings.batch.storage:
        return False, "no --storage given", "--storage NAME or --storage CONTAINER_URL"
    name = f"batchscribe-doctor-{secrets.token_hex(4)}.txt"
    try:
        store = open_store(settings, env, storage_credential)
        blob = store.container.get_blob_client(name)
        blob.upload_blob(PROBE, overwrite=True)
        try:
            if blob.download_blob().readall() != PROBE:
                return False, "the container gave back other bytes than were written", ""
            how = "read through a plain URL (trusted)"
            if settings.batch.storage_access == "sas":
                response = httpx.get(store.url(name), timeout=30)
                if response.content != PROBE:
                    return (
                        False,
                        f"a SAS URL of the container does not read ({response.status_code})",
                        "check the account key or the Entra ID role that signs user-delegation SAS",
                    )
                how = "read through a SAS URL"
        finally:
            store.delete(name)
    except BatchscribeError as exc:
        return False, exc.message, exc.hint
    except Exception as exc:  # the storage client's own errors, in one line
        return False, f"the container cannot be used: {type(exc).__name__}", ""
    return True, f"container {settings.batch.public_dict()['storage']}: written, read, {how}, deleted", ""


def probe_endpoint(settings: RunSettings) -> tuple[bool, str, str]:
    """(ok, what was found, the fix) for the doctor's ``batch endpoint`` line."""
    from batchscribe.engines.batch.client import BatchClient, base_url

    try:
        url = base_url(settings.endpoint)
        client = BatchClient(url, {"Ocp-Apim-Subscription-Key": settings.endpoint.key}, retries=1)
        try:
            client.call("GET", "/transcriptions?top=1")
        finally:
            client.close()
    except BatchscribeError as exc:
        return False, exc.message, exc.hint
    return True, f"{settings.endpoint.describe()}: batch transcription answers (a list call)", ""
