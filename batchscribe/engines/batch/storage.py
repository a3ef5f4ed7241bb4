"""The container recordings are uploaded to (azure-storage-blob), and the URLs the service reads.

``--storage NAME`` takes the account from ``AZURE_STORAGE_CONNECTION_STRING`` (its key signs
service SAS URLs); ``--storage https://ACCOUNT.blob.core.windows.net/CONTAINER`` signs in with
Entra ID (a ``TokenCredential``; tests inject one) and signs user-delegation SAS URLs. With
``--storage-access trusted`` the URLs are plain: the Speech resource's managed identity reads the
container. The container is created when missing. Uploads are named by content under the
output folder's id (``<folder id>/<sha256><ext>``, ``job_uploads.upload_name``): bytes already
there are not sent again, and a renamed file uploads nothing.
Uploads stream from the file in blocks, several blocks in flight, hashed as they are sent: a
recording changed since it was hashed never stays under the old hash's name (every later run
would trust that blob); its upload is removed and the recording fails for the next run to send.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, BinaryIO, cast
from urllib.parse import quote

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    UserDelegationKey,
    generate_blob_sas,
)

from batchscribe.engines.batch.client import mask, mask_signatures_in_logs
from batchscribe.engines.batch.settings import StorageAccess, check_storage
from batchscribe.engines.jobs import UploadHook
from batchscribe.errors import FatalEngineError, TransientEngineError, UsageError

CONNECTION_STRING_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"
# The service may take up to 30 min to start a job and 24 h to finish it (best effort): a SAS
# must outlive both, with room for a job submitted again.
SAS_LIFETIME = timedelta(hours=48)
CLOCK_SKEW = timedelta(minutes=5)
ASK_FIRST_ABOVE = 4 << 20  # bytes: above this, look for the upload before sending it
# Above SINGLE_PUT a recording goes up in blocks of BLOCK (the library's default single put is
# 64 MiB): several blocks in flight, and its progress moves block by block on the live view.
SINGLE_PUT = 8 << 20
BLOCK = 4 << 20
_CLIENT_OPTIONS: dict[str, Any] = {"max_single_put_size": SINGLE_PUT, "max_block_size": BLOCK}
# Storage found unreachable (after the client's own retries, a minute or more): uploads fail at
# once for this long, instead of each recording waiting out the same retries again.
AWAY_FOR_S = 120.0


class BlobStore:
    def __init__(
        self, service: BlobServiceClient, container: str, *, access: StorageAccess, account_key: str | None
    ) -> None:
        self._service = service
        self.container: ContainerClient = service.get_container_client(container)
        self.access = access
        self._account_key = account_key
        self._delegation: UserDelegationKey | None = None
        self._delegation_until = datetime.min.replace(tzinfo=timezone.utc)
        self._away_until = 0.0  # time.monotonic() before which storage is taken as unreachable

    @classmethod
    def open(
        cls, storage: str, *, access: StorageAccess, env: dict[str, str], credential: Any = None
    ) -> BlobStore:
        """The container ``--storage`` names, made ready (created when missing)."""
        check_storage(storage)
        mask_signatures_in_logs()  # its SAS URLs may be fetched (doctor) and logged by httpx
        if storage.startswith(("https://", "http://")):
            account_url, _, container = storage.split("?")[0].rstrip("/").rpartition("/")
            if not storage.startswith("https://"):
                raise UsageError(
                    f"--storage {account_url}/{container}: a container URL signs in with Entra ID, "
                    "whose tokens go only over https",
                    hint="give https://ACCOUNT.blob.core.windows.net/CONTAINER, or a container name "
                    "with AZURE_STORAGE_CONNECTION_STRING",
                )
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            store = cls(
                BlobServiceClient(account_url, credential=_FailFast(credential), **_CLIENT_OPTIONS),
                container,
                access=access,
                account_key=None,
            )
        else:
            connection = env.get(CONNECTION_STRING_VARIABLE, "")
            if not connection:
                raise UsageError(
                    f"--storage {storage} names a container but {CONNECTION_STRING_VARIABLE} is not set",
                    hint=f"set {CONNECTION_STRING_VARIABLE}, or give the container's URL (Entra ID sign-in)",
                )
            try:
                service = BlobServiceClient.from_connection_string(connection, **_CLIENT_OPTIONS)
            except ValueError:  # its text is never shown: it holds the account key
                raise UsageError(
                    f"{CONNECTION_STRING_VARIABLE} is not a storage connection string",
                    hint="copy it from the storage account's Access keys, as one line "
                    "(DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=...)",
                ) from None
            key = getattr(service.credential, "account_key", None)
            store = cls(service, storage, access=access, account_key=key)
        store.ensure()
        return store

    def ensure(self) -> None:
        try:
            self.container.create_container()
        except ResourceExistsError:
            pass
        except Exception as exc:
            raise _storage_error(exc, "open the container") from exc

    def exists(self, name: str) -> bool:
        try:
            return bool(self.container.get_blob_client(name).exists())
        except Exception as exc:
            raise _storage_error(exc, f"look for the upload {name}") from exc

    def upload(
        self, path: Path, name: str, progress: UploadHook | None = None, *, sha256: str | None = None
    ) -> bool:
        """Upload unless a blob of that name (the same bytes) is there; True when sent.
        ``progress(sent, total)``: as blocks go (azure-storage-blob's ``progress_hook``). With
        ``sha256``, the bytes sent must hash to it (``ChangedError`` when the file changed since)."""
        blob = self.container.get_blob_client(name)
        if time.monotonic() < self._away_until:
            raise TransientEngineError(
                f"cannot reach storage to upload {path.name} (unreachable moments ago: not tried again)",
                code="storage_unreachable",
            )
        try:
            # A small file goes up in one request that the service refuses (409) when the name is
            # there already; a large one is looked for first, so that its bytes are not sent for
            # nothing (a renamed or copied recording uploads nothing).
            if path.stat().st_size > ASK_FIRST_ABOVE and blob.exists():
                return False
            with path.open("rb") as data:
                size = os.fstat(data.fileno()).st_size
                reader = _HashingReader(data, size)
                # Not seekable: the client reads it once, in order, so every byte sent is hashed.
                blob.upload_blob(
                    cast(IO[bytes], reader), length=size, overwrite=False, max_concurrency=2,
                    progress_hook=progress,
                )  # fmt: skip
                digest = reader.hexdigest()
        except ResourceExistsError:
            return False  # another upload of the same bytes won
        except OSError:
            raise
        except Exception as exc:
            error = _storage_error(exc, f"upload {path.name}")
            if isinstance(exc, ServiceRequestError):
                self._away_until = time.monotonic() + AWAY_FOR_S
            raise error from exc
        if sha256 is not None and digest != sha256:
            self.delete(name)  # never other bytes under the hash's name
            raise ChangedError()
        return True

    def url(self, name: str) -> str:
        """The URL the service reads ``name`` through."""
        plain = f"{self.container.url}/{quote(name)}"
        if self.access == "trusted":
            return plain
        now = datetime.now(timezone.utc)
        expiry = now + SAS_LIFETIME
        account, container = self.container.account_name or "", self.container.container_name
        permission, start = BlobSasPermissions(read=True), now - CLOCK_SKEW
        try:
            key = None if self._account_key else self._delegation_key(now, expiry)
            token = generate_blob_sas(
                account, container, name, account_key=self._account_key, user_delegation_key=key,
                permission=permission, start=start, expiry=expiry,
            )  # fmt: skip
        except Exception as exc:
            raise _storage_error(exc, "sign a URL for the service") from exc
        return f"{plain}?{token}"

    def _delegation_key(self, now: datetime, expiry: datetime) -> UserDelegationKey:
        if self._delegation is None or self._delegation_until < expiry:
            until = now + SAS_LIFETIME + timedelta(hours=24)  # one key for a day of submits
            self._delegation = self._service.get_user_delegation_key(now - CLOCK_SKEW, until)
            self._delegation_until = until
        return self._delegation

    def delete(self, name: str) -> None:
        try:
            self.container.delete_blob(name)
        except ResourceNotFoundError:
            pass
        except Exception as exc:
            raise _storage_error(exc, f"remove the upload {name}") from exc


class ChangedError(TransientEngineError):
    """The recording changed between its hashing and its upload."""

    def __init__(self) -> None:
        super().__init__(
            "it changed while it was being uploaded; its upload was removed",
            code="changed_during_upload",
            hint="the next run sends it again once it stays the same",
        )


class _HashingReader:
    """A file read once, in order, for an upload: hashes what it hands out, and refuses to hand
    out less than ``size`` bytes (a file truncated meanwhile would leave the request waiting)."""

    def __init__(self, data: BinaryIO, size: int) -> None:
        self._data, self._left, self._hash = data, size, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        wanted = self._left if size < 0 else min(size, self._left)
        chunk = self._data.read(wanted)
        if len(chunk) < wanted:
            raise OSError(errno.EIO, "it shrank while it was being uploaded")
        self._left -= len(chunk)
        self._hash.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        more = self._data.read(1)  # it grew: the blob holds only its first bytes
        return "" if more else self._hash.hexdigest()


class _SignInFailed(Exception):
    """The credential gave no token. Not an ``AzureError``: the storage client's retry policy
    would ask the credential again and again for over a minute; the run stops at once instead."""


class _FailFast:
    """A ``TokenCredential`` whose failures go past the storage client's retries (``_SignInFailed``)."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        try:
            return self._credential.get_token(*scopes, **kwargs)
        except Exception as exc:  # azure-identity raises ClientAuthenticationError, and others
            raise _SignInFailed(type(exc).__name__) from exc


SIGN_IN_HINT = (
    "sign in for DefaultAzureCredential (e.g. 'az login', a managed identity, or AZURE_CLIENT_ID, "
    "AZURE_TENANT_ID and AZURE_CLIENT_SECRET) and give it the Storage Blob Data Contributor role "
    "on the container"
)


def _storage_error(exc: Exception, doing: str) -> Exception:
    """What went wrong with storage, as the engine error it means (never with a key or SAS)."""
    if isinstance(exc, _SignInFailed):  # no token: storage was not even asked
        cause = exc.__cause__ or exc
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return FatalEngineError(
            f"Entra ID sign-in for storage failed: {mask(first_line)[:300]}",
            code="storage_sign_in_failed",
            hint=SIGN_IN_HINT,
        )
    if isinstance(exc, ClientAuthenticationError) or (
        isinstance(exc, HttpResponseError) and exc.status_code in (401, 403)
    ):
        return FatalEngineError(
            f"storage refused to {doing}: access denied",
            code="storage_denied",
            hint="check AZURE_STORAGE_CONNECTION_STRING, or the Entra ID role on the container "
            "(Storage Blob Data Contributor)",
        )
    if isinstance(exc, ServiceRequestError):
        return TransientEngineError(f"cannot reach storage to {doing}", code="storage_unreachable")
    status = exc.status_code if isinstance(exc, HttpResponseError) else None
    return TransientEngineError(
        f"storage failed to {doing} ({status or type(exc).__name__})", code="storage_error"
    )
