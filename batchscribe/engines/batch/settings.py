"""The batch engine's settings (``--engine batch``): where recordings go and how jobs are run.

``config/settings.py``'s ``RunSettings.batch`` holds them; the engine takes plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_BATCH = 1000  # recordings per job: the service's limit
TIME_TO_LIVE_HOURS = 48  # the service deletes a job and its results this long after it finished

StorageAccess = Literal["sas", "trusted"]

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

    def public_dict(self) -> dict[str, object]:
        return {
            "storage": self.storage.split("?")[0],  # a URL's query could hold a SAS
            "storage_access": self.storage_access,
            "batch_size": self.batch_size,
            "no_wait": self.no_wait,
            "poll_interval_s": self.poll_interval_s,
            "keep_uploads": self.keep_uploads,
        }
