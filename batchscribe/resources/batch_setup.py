"""``--engine batch`` in a run: the engine built from the run's settings, and what ``doctor`` probes.

- ``batch_engine``: the REST client (``engines/batch/client``), the container
  (``engines/batch/storage``) and the job engine joining them (``engines/batch/engine``), from
  the run's settings.
- Entra ID: one credential serves the run (``run_credential``: the one given, else
  azure-identity's ``DefaultAzureCredential`` when something signs in with it): the Speech
  resource's tokens come from a ``TokenProvider`` over it, kept fresh for the run (``signed_in``;
  every REST call asks it for the current token), and storage asks it for its own scope.
- ``probe_container`` / ``probe_endpoint``: (ok, what was found, the fix) for the doctor's
  ``storage`` and ``batch endpoint`` lines (``doctor.batch_checks``). The container: created if
  missing; a small blob written, read back, read again through the URL the service would get,
  deleted. The batch endpoint: one list call (it costs nothing). Neither raises.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from batchscribe.config.entra import TokenSource, default_credential, quiet_azure_identity
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.errors import BatchscribeError, FatalEngineError, UsageError
from batchscribe.resources.service import endpoints_for

if TYPE_CHECKING:  # httpx and azure-storage-blob: only for runs that use them
    from batchscribe.engines.batch.client import BatchClient
    from batchscribe.engines.batch.engine import BatchJobEngine
    from batchscribe.engines.batch.storage import BlobStore

PROBE = b"batchscribe doctor: a blob written, read and deleted again\n"


def run_credential(settings: RunSettings, credential: TokenSource | None = None) -> TokenSource | None:
    """The run's one Entra ID credential, for the Speech resource and the container alike:
    ``credential`` (tests inject one), else ``DefaultAzureCredential`` when either signs in with
    Entra ID (a container URL, a resource with ``entra: true``), else None."""
    if credential is not None:
        return credential
    if settings.endpoint.entra or settings.batch.storage.startswith(("https://", "http://")):
        quiet_azure_identity()  # a failed sign-in is said once, in one line (``config/entra``)
        return default_credential()
    return None


@contextlib.contextmanager
def signed_in(settings: RunSettings, credential: TokenSource | None) -> Iterator[RunSettings]:
    """The settings with their Speech resource signed in: a resource using Entra ID gets a
    ``TokenProvider`` over ``credential``, kept fresh until the block ends."""
    if not any(e.entra and e.tokens is None for e in settings.endpoints):
        yield settings
        return
    with endpoints_for(settings, credential) as endpoints:
        yield replace(settings, endpoint=endpoints[0], resources=endpoints if settings.resources else ())


def check_sign_in(settings: RunSettings) -> None:
    """Exit 2 (``UsageError``) for a resource ``--engine batch`` cannot sign in to, before any
    credential is read (``plan`` refuses what ``run`` would): Entra ID with a region, whose
    regional address takes only keys for REST (``client.base_url`` says so)."""
    from batchscribe.engines.batch.client import base_url

    if settings.engine != "batch":
        return
    for endpoint in settings.endpoints:
        resource = endpoint.resource
        if resource is not None and resource.entra and resource.kind == "region":
            base_url(replace(endpoint, kind="region", region=resource.location))


def speech_headers(endpoint: Endpoint) -> Callable[[], dict[str, str]]:
    """What each REST call carries, asked for at every call: ``Authorization: Bearer`` with the
    current Entra ID token (its provider refreshes it before it expires), else the key."""
    tokens = endpoint.tokens
    if tokens is not None:
        return lambda: {"Authorization": f"Bearer {tokens.token()}"}
    if endpoint.entra:
        raise UsageError(
            "the Speech resource signs in with Entra ID but was not signed in",
            hint="run it through run_batch, which signs in (resources/batch_setup.signed_in)",
        )
    key = endpoint.key
    if not key:
        raise UsageError(
            "--engine batch needs the Speech resource's key, or Entra ID sign-in",
            hint="set SPEECH_KEY (or --key-file), or give the resource 'entra: true' in a jobs file",
        )
    return lambda: {"Ocp-Apim-Subscription-Key": key}


def _client(endpoint: Endpoint, *, retries: int | None = None) -> BatchClient:
    from batchscribe.engines.batch.client import RETRIES, BatchClient, base_url

    url = base_url(endpoint)
    headers = speech_headers(endpoint)
    # masked in every error text: the key, and the tokens in use at the time (they change)
    return BatchClient(
        url, headers, secrets=lambda: endpoint.secrets, retries=RETRIES if retries is None else retries
    )


def batch_engine(
    settings: RunSettings, *, env: Mapping[str, str] | None = None, credential: TokenSource | None = None
) -> BatchJobEngine:
    """The run's batch engine. ``settings``: signed in (``signed_in``) when the Speech resource
    uses Entra ID; ``credential``: the run's Entra ID credential for a container URL (tests
    inject one; by default azure-identity's ``DefaultAzureCredential``)."""
    from batchscribe.engines.batch.engine import BatchJobEngine, check_settings

    separate = settings.channels == "separate"
    check_settings(settings.options, channels_separate=separate)
    if not settings.batch.storage:
        raise UsageError(
            "--engine batch needs --storage: the Blob Storage container recordings are uploaded to",
            hint="--storage NAME (with AZURE_STORAGE_CONNECTION_STRING) or --storage https://ACCOUNT.blob.core.windows.net/CONTAINER",
        )
    client = _client(settings.endpoint)
    try:
        storage = open_store(settings, env, run_credential(settings, credential))
    except BaseException:
        client.close()
        raise
    return BatchJobEngine(client, storage, settings.options, channels_separate=separate, name="azure-batch")


def open_store(
    settings: RunSettings, env: Mapping[str, str] | None, credential: TokenSource | None
) -> BlobStore:
    """The container ``--storage`` names, made ready (created when missing)."""
    from batchscribe.engines.batch.storage import BlobStore

    return BlobStore.open(
        settings.batch.storage,
        access=settings.batch.storage_access,
        env=dict(env if env is not None else os.environ),
        credential=credential,
    )


def probe_container(
    settings: RunSettings, env: Mapping[str, str] | None = None, credential: TokenSource | None = None
) -> tuple[bool, str, str]:
    """(ok, what was found, the fix) for the doctor's ``storage`` line; ``credential``: the run's
    Entra ID credential (``run_credential``) for a container URL."""
    import httpx

    if not settings.batch.storage:
        return False, "no --storage given", "--storage NAME or --storage CONTAINER_URL"
    name = f"batchscribe-doctor-{secrets.token_hex(4)}.txt"
    try:
        store = open_store(settings, env, credential)
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
    """(ok, what was found, the fix) for the doctor's ``batch endpoint`` line; ``settings``
    signed in (``signed_in``) when the resource uses Entra ID."""
    endpoint = settings.endpoint
    try:
        client = _client(endpoint, retries=1)
        try:
            client.call("GET", "/transcriptions?top=1")
        finally:
            client.close()
    except FatalEngineError as exc:
        if exc.code == "auth_failed" and endpoint.entra:
            return (
                False,
                "the Entra ID token was rejected by the batch endpoint (credentials refused)",
                (
                    "give the signed-in identity the Cognitive Services Speech User (or Contributor) role "
                    "on the Speech resource"
                ),
            )
        return False, exc.message, exc.hint
    except BatchscribeError as exc:
        return False, exc.message, exc.hint
    signs_in = "the Entra ID token was accepted" if endpoint.entra else "the key was accepted"
    return True, f"{endpoint.describe()}: batch transcription answers a list call ({signs_in})", ""
