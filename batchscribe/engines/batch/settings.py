"""The batch engine's settings (``--engine batch``): where recordings go and how jobs are run.

``config/settings.py``'s ``RunSettings.batch`` holds them; the engine takes plain values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from batchscribe.errors import UsageError

MAX_BATCH = 1000  # recordings per job: the service's limit
FIRST_JOB = 100  # recordings in a run's first job at most: it leaves within seconds
TIME_TO_LIVE_HOURS = 48  # the service deletes a job and its results this long after it finished

# How the jobs of ``--emulate`` runs are named: the emulator (and its Azurite) end with the run,
# so the next emulated run forgets such jobs and sends their recordings again, and ``plan
# --emulate`` does not count them as pending.
EMULATED_JOB_PREFIX = "batchscribe emulated "

StorageAccess = Literal["sas", "trusted"]
# Blob Storage's rule: 3 to 63 lowercase letters, digits and single hyphens, a letter or digit first.
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # Azurite: plain http is fine there


def _flag_error(message: str, hint: str) -> UsageError:
    return UsageError(f"--storage: {message}", hint=hint)


def check_storage(storage: str, *, error: Callable[[str, str], UsageError] = _flag_error) -> str:
    """``--storage`` checked before anything is sent; the container's name. A URL must be https
    (its sign-in token never goes over plain http, but to Azurite on this machine) and carry no
    SAS (the query is never shown). ``error``: the error for a message and hint, named as the
    user gave the setting (the flag, or a jobs file's field)."""
    if not storage.startswith(("https://", "http://")):
        container = storage
    else:
        parts = urlsplit(storage)
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise error(
                "the container's URL is taken without a query or a user (not used, nor shown)",
                "https://ACCOUNT.blob.core.windows.net/CONTAINER: batchscribe signs in with Entra ID",
            )
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            raise error(
                f"a container URL on {parts.hostname} must be https (no sign-in token in clear)",
                "use https://ACCOUNT.blob.core.windows.net/CONTAINER",
            )
        segments = [segment for segment in parts.path.split("/") if segment]
        if len(segments) != (2 if parts.hostname in LOCAL_HOSTS else 1):  # Azurite: /ACCOUNT/CONTAINER
            raise error(
                f"the URL's path {parts.path!r} is not one container (no folder in it is taken)",
                "https://ACCOUNT.blob.core.windows.net/CONTAINER; recordings are uploaded at its root",
            )
        container = segments[-1]
    if not CONTAINER_NAME.match(container):
        raise error(
            f"{container!r} is not a Blob Storage container name",
            "3 to 63 lowercase letters, digits and single hyphens, starting with a letter or digit",
        )
    return container


# How often jobs are asked about when --poll-interval is not given (the one place of this default):
POLL_INTERVAL_S = 60.0  # Azure takes minutes to hours per job; asking more often only adds calls
EMULATED_POLL_INTERVAL_S = 1.0  # the emulator (--emulate) finishes a job within seconds


def poll_interval(given: float | None, *, emulated: bool) -> float:
    """``--poll-interval`` when given, else the default for the service the run talks to."""
    if given is not None:
        return given
    return EMULATED_POLL_INTERVAL_S if emulated else POLL_INTERVAL_S


@dataclass(frozen=True)
class BatchSettings:
    """``storage``: a container name (with AZURE_STORAGE_CONNECTION_STRING) or a container URL
    (Entra ID). ``storage_access``: ``sas`` (the service reads through SAS URLs) or ``trusted``
    (the Speech resource's managed identity reads plain URLs)."""

    storage: str = ""
    storage_access: StorageAccess = "sas"
    batch_size: int = MAX_BATCH
    no_wait: bool = False
    poll_interval_s: float = POLL_INTERVAL_S
    keep_uploads: bool = False

    def job_size(self, *, first: bool) -> int:
        """Recordings per job: ``batch_size``, but a run's first job at most ``FIRST_JOB``, so the
        service has work within seconds of the start however large the folder."""
        return min(self.batch_size, FIRST_JOB) if first else self.batch_size

    def job_count(self, recordings: int) -> int:
        """The jobs a run makes of ``recordings`` (its first one smaller)."""
        first = self.job_size(first=True)
        if recordings <= first:
            return 1 if recordings > 0 else 0
        return 1 + math.ceil((recordings - first) / self.batch_size)

    def public_dict(self) -> dict[str, object]:
        return {
            "storage": self.storage.split("?")[0],  # a URL's query could hold a SAS
            "storage_access": self.storage_access,
            "batch_size": self.batch_size,
            "no_wait": self.no_wait,
            "poll_interval_s": self.poll_interval_s,
            "keep_uploads": self.keep_uploads,
        }
