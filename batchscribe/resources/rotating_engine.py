"""Several Speech resources behind one ``Engine``: each session on a ``Rotation`` lease.

``RotatingEngine.transcribe`` takes a lease (the resource with the most free capacity; it waits
while every resource is full or in quarantine), runs the session through that resource's own
engine with the lease as the session's ``Congestion`` (so the resource's limiter hears its
connection time and throttling), and tells the lease how it went:

- success: the resource's limiter grows; the audio is counted for it;
- a failure **before the connection came up** (refused, DNS, TLS, a 5xx answer to the upgrade,
  no connection within the stall timeout): the resource's strike, and the session starts again
  on a resource the rotation hands out next, without using up one of the file's retries (nothing was
  wrong with the file, and the service never saw it);
- credentials rejected (401/403, an Entra sign-in that fails): that resource is out for the
  run, named in the summary; the session moves on the same way;
- a **stall** after the connection came up (no answer within ``--stall-timeout``): the
  resource's strike too (it takes the resource out at once: a stall costs a whole stall timeout),
  and the error goes to the runner, so the file's retry (which the pool hands to another
  resource) is bounded by its retries like any service trouble;
- anything else (throttling, a failure after the connection was up, a bad request) goes to the
  runner as it is: the file's retries decide.

When no resource is usable any more the rotation hands out nothing; the session then fails with
``NO_RESOURCE`` and the runner's ``OutageGuard`` (holding the same rotation) aborts the run (exit 3).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from batchscribe.cancel import CancelToken
from batchscribe.engines.base import Engine, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.engines.sdk_errors import unreachable
from batchscribe.errors import EngineError, FatalEngineError, FileCancelled, TransientEngineError
from batchscribe.resources.limiter import AdaptiveLimiter
from batchscribe.resources.rotation import FailureKind, Rotation

log = logging.getLogger(__name__)

NO_RESOURCE = "no_resource"
STALLED = "stalled"  # the code of ``retry.stalled_error``
CREDENTIAL_CODES = frozenset({"auth_failed", "forbidden", "quota_exhausted", "entra_sign_in_failed"})
_SERVER_ERROR_SDK_CODES = frozenset({"ServiceUnavailable", "ServiceError"})


def connection_failure(error: EngineError, *, reached: bool) -> FailureKind | None:
    """How a session failed at connection time, as the rotation counts it; None when the resource
    is not at fault (the connection was up, or the service answered: throttling, bad request)."""
    if isinstance(error, FatalEngineError):
        return "credentials" if error.code in CREDENTIAL_CODES else None
    if reached or error.code == "throttled":
        return None
    reason = unreachable(error)
    if reason is not None:
        return "timeout" if "timed out" in reason.what else "refused"
    if error.sdk_code in _SERVER_ERROR_SDK_CODES or "upgrade failed" in error.detail.lower():
        return "server_error"
    return None


class RotatingEngine:
    """One engine per resource (``engines``, by resource name), sessions spread by the rotation."""

    def __init__(self, rotation: Rotation, engines: Mapping[str, Engine]) -> None:
        if not engines:
            raise ValueError("a pooled engine needs at least one engine")
        self._rotation = rotation
        self._engines = dict(engines)
        self.name = next(iter(self._engines.values())).name

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        while True:
            lease = self._rotation.acquire(cancel)
            if lease is None:
                if cancel.is_cancelled():
                    raise FileCancelled(cancel.reason)
                raise TransientEngineError(
                    self._rotation.unusable() or "no Speech resource is usable",
                    code=NO_RESOURCE,
                    hint="check each resource's key or role, its address and its status",
                )
            try:
                engine = self._engines[lease.resource.name]
                session = replace(request, congestion=lease)
                transcript = engine.transcribe(session, on_progress=on_progress, cancel=cancel)
            except (TransientEngineError, FatalEngineError) as exc:
                kind = connection_failure(exc, reached=lease.reached)
                if kind is None:
                    if exc.code == "throttled":
                        lease.throttled_by_service()
                    elif exc.code == STALLED:
                        lease.failed("stalled")
                        log.info("%s: stalled on %s; its retry goes to another resource",
                                 request.label, lease.resource.name)  # fmt: skip
                    raise
                detail = exc.message if kind == "credentials" and exc.code != "auth_failed" else ""
                lease.failed(kind, detail)
                log.info(
                    "%s: %s on %s; moving to another resource", request.label, exc.code, lease.resource.name
                )
                continue
            else:
                lease.succeeded(request.audio.duration_s)
                return transcript
            finally:
                lease.release()

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()


class SpreadLimiter(AdaptiveLimiter):
    """The runner's limiter when a ``Rotation`` spreads the sessions: it only bounds the
    worker threads (the rotation's combined capacity). Each resource's own limiter adapts to that
    resource's answers, so a throttling answer must not also halve every resource's share here."""

    def __init__(self, rotation: Rotation) -> None:
        super().__init__(rotation.maximum, start=rotation.maximum)
        self._rotation = rotation

    def throttled_by_service(self) -> None:
        """Counted by the resource that answered (through its lease), not here."""

    def connected(self, seconds: float) -> None:
        """Heard by the resource's own limiter, through its lease."""
