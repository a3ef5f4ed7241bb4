"""The batch engine (``--engine batch``): Azure batch transcription over Blob Storage.

``batch_engine(settings)`` builds it: the REST client (``client``), the container
(``storage``), the job engine joining them (``engine``) and the result reader (``results``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.batch.client import BatchClient
from batchscribe.engines.batch.engine import BatchJobEngine, check_settings
from batchscribe.engines.batch.storage import BlobStore
from batchscribe.errors import UsageError

__all__ = ["BatchJobEngine", "base_url", "batch_engine"]


def base_url(endpoint: Endpoint) -> str:
    """Where the batch API is: ``https://REGION.api.cognitive.microsoft.com/speechtotext``, or
    ``--endpoint``'s URL (``/speechtotext`` added when it is not there)."""
    if endpoint.kind == "region":
        return f"https://{endpoint.region}.api.cognitive.microsoft.com/speechtotext"
    url = endpoint.url.rstrip("/")
    if endpoint.kind == "emulator" or not url.startswith(("https://", "http://")):
        raise UsageError(
            "--engine batch needs the Speech resource's REST endpoint",
            hint="use --region, or --endpoint https://NAME.cognitiveservices.azure.com "
            "(for the emulator: --endpoint http://127.0.0.1:REST_PORT)",
        )
    return url if url.endswith("/speechtotext") else f"{url}/speechtotext"


def batch_engine(
    settings: RunSettings, *, env: Mapping[str, str] | None = None, storage_credential: Any = None
) -> BatchJobEngine:
    """The run's batch engine; ``storage_credential``: an Entra ID ``TokenCredential`` for a
    container URL (tests inject one; by default azure-identity's ``DefaultAzureCredential``)."""
    check_settings(settings)
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
    storage = BlobStore.open(
        settings.batch.storage,
        access=settings.batch.storage_access,
        env=dict(env if env is not None else os.environ),
        credential=storage_credential,
    )
    client = BatchClient(url, {"Ocp-Apim-Subscription-Key": endpoint.key})
    return BatchJobEngine(client, storage, settings, name="azure-batch")
