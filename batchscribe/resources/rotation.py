"""Several Speech resources in one run: which one takes the next session, and which are out.

A ``Rotation`` gives each ``Resource`` (``config/resource.py``: where it is, how it signs
in, its own session limit) an ``AdaptiveLimiter`` and hands out sessions as ``Lease``\\ s:

- **spread by free capacity**: the next session goes to the resource with the most free slots
  (ties: fewer sessions open, then fewer sessions so far), so N healthy resources carry about N
  times one's load;
- **quarantine**: connection-time failures (refused, a 5xx answer, timeouts) and *stalls* (a
  session that connected, then got no answer within ``--stall-timeout``) take a resource out
  of the rotation after ``QuarantinePolicy.strikes`` of them in a row, for a backoff that doubles
  each time (``first_backoff`` .. ``max_backoff``); failures of sessions that were already on
  it when it went out are counted, but do not lengthen its quarantine. When it ends, the next
  session on that resource is a *probe*, the only one there: if it connects the resource is back
  (its limiter slow-starts again), otherwise it goes back into quarantine for longer. A resource
  that went out for stalling must *finish* its probe session to be back: connecting is exactly
  what a stalling resource still does;
- a resource **rejecting its credentials** is out for the whole run, and named;
- ``unusable()`` says when the run should abort (exit 3): every resource rejected its
  credentials, or every resource is out and none has connected in this run, or none has been
  usable for ``QuarantinePolicy.give_up_after`` seconds;
- ``stats()``: per resource, sessions, audio seconds, throttling answers, failures by kind, time
  out of the rotation and why.

Pure logic on an injectable clock; ``acquire`` waits (in real time) on one condition variable
shared by every resource's limiter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from batchscribe.cancel import CancelToken
from batchscribe.config.resource import Resource
from batchscribe.errors import RunAbortedError, UsageError
from batchscribe.resources.limiter import AdaptiveLimiter
from batchscribe.resources.resource_stats import ResourceStats, State

FailureKind = Literal["refused", "server_error", "timeout", "stalled", "credentials"]

_FAILURE_TEXT: dict[FailureKind, str] = {
    "refused": "connection refused",
    "server_error": "the service answered with a server error (5xx)",
    "timeout": "connection timed out",
    "stalled": "sessions stalled (connected, then no answer within --stall-timeout)",
    "credentials": "credentials rejected",
}


@dataclass(frozen=True)
class QuarantinePolicy:
    """When a failing resource leaves the rotation, and for how long."""

    first_backoff: float = 5.0
    max_backoff: float = 300.0
    # connection failures in a row that take a resource out, by kind (the SDK has already
    # retried each one a few times before reporting it)
    strikes: Mapping[FailureKind, int] = field(
        default_factory=lambda: {"refused": 1, "server_error": 2, "timeout": 3, "stalled": 1}
    )
    give_up_after: float = 600.0  # no resource usable for this long: abort


class _Member:
    """A resource's state inside the rotation; guarded by the rotation's condition."""

    def __init__(self, resource: Resource, limiter: AdaptiveLimiter) -> None:
        self.resource = resource
        self.limiter = limiter
        self.state: State = "healthy"
        self.in_a_row: dict[FailureKind, int] = {}
        self.backoffs = 0  # quarantines since it last connected
        self.until = 0.0  # quarantine ends
        self.out_since: float | None = None
        self.out_total = 0.0
        self.quarantines = 0
        self.reasons: list[str] = []
        self.probe_out = False
        self.probe_must_finish = False  # out for stalling: connecting does not prove it is back
        self.connected_once = False
        self.sessions = 0
        self.audio_seconds = 0.0
        self.failures: dict[str, int] = {}


class Lease:
    """One session's slot on one resource; tells the rotation how the session went.

    Implements ``engines.base.Congestion`` (``connected``, ``throttled_by_service``), so an engine can
    report to it as to a limiter. Call ``failed`` only for failures before the connection was up.
    """

    def __init__(self, rotation: Rotation, member: _Member, *, probe: bool) -> None:
        self._rotation = rotation
        self._member = member
        self.resource = member.resource
        self.probe = probe
        self.reached = False  # the session's connection came up: later failures are not the resource's
        self._released = False

    def connected(self, seconds: float) -> None:
        self.reached = True
        self._rotation._connected(self._member, seconds, probe=self.probe)

    def closed(self) -> None:
        self._member.limiter.closed()

    def throttled_by_service(self) -> None:
        self._member.limiter.throttled_by_service()

    @property
    def throttling(self) -> bool:
        """Free each connection before the next session (``engines.base.Congestion``): the
        resource has pushed back in this run, or it is at its session limit, where the service
        would count a connection left open against the next session."""
        limiter = self._member.limiter
        return limiter.throttling or limiter.limit >= limiter.maximum

    def succeeded(self, audio_seconds: float) -> None:
        if not self.reached:  # an engine that does not report its connections: success says it
            self.reached = True
            self._rotation._reached(self._member, probe=self.probe)
        self._rotation._succeeded(self._member, audio_seconds, probe=self.probe)

    def failed(self, kind: FailureKind, detail: str = "") -> None:
        """The session could not connect; ``detail`` (already free of secrets) says how."""
        self._rotation._failed(self._member, kind, detail, probe=self.probe)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._rotation._release(self._member, probe=self.probe)


class Rotation:
    """Hands out sessions across resources by free capacity; quarantines failing ones."""

    def __init__(
        self,
        resources: Sequence[Resource],
        *,
        start: int = 1,
        policy: QuarantinePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[Resource, int], None] | None = None,
    ) -> None:
        if not resources:
            raise UsageError("no Speech resource given", hint="give --region, --endpoint or --host")
        names = [r.name for r in resources]
        if len(set(names)) != len(names):
            raise UsageError("the same resource is given twice", hint="give each resource once")
        self._cond = threading.Condition()
        self._clock = clock
        self._policy = policy or QuarantinePolicy()
        self._start = start
        self._all_out_since: float | None = None
        self.peak_active = 0  # sessions open at once over every resource, at most
        self._members = [_Member(r, self._limiter(r, on_change)) for r in resources]

    def _limiter(
        self, resource: Resource, on_change: Callable[[Resource, int], None] | None
    ) -> AdaptiveLimiter:
        report = None if on_change is None else lambda limit: on_change(resource, limit)
        return AdaptiveLimiter(
            resource.max_sessions,
            start=self._start,
            clock=self._clock,
            condition=self._cond,
            on_change=report,
        )

    @property
    def maximum(self) -> int:
        """Sessions all resources together may hold (the most worker threads can use)."""
        return sum(m.resource.max_sessions for m in self._members)

    @property
    def limit(self) -> int:
        """Sessions every resource's limiter allows now, together."""
        with self._cond:
            return sum(m.limiter.limit for m in self._members)

    @property
    def active(self) -> int:
        with self._cond:
            return sum(m.limiter.active for m in self._members)

    # -- handing out sessions -----------------------------------------------------------------

    def try_acquire(self) -> Lease | None:
        """A lease on the resource with the most free capacity, or None when none has a slot."""
        with self._cond:
            now = self._clock()
            for member in self._members:
                if member.state == "quarantined" and now >= member.until:
                    member.state = "probing"
            for member in self._members:
                if member.state == "probing" and not member.probe_out and member.limiter.try_acquire():
                    member.probe_out = True
                    return self._lease(member, probe=True)
            healthy = [m for m in self._members if m.state == "healthy" and m.limiter.free > 0]
            healthy.sort(key=lambda m: (-m.limiter.free, m.limiter.active, m.sessions))
            for member in healthy:
                if member.limiter.try_acquire():
                    return self._lease(member, probe=False)
            return None

    def acquire(self, cancel: CancelToken) -> Lease | None:
        """Wait for a lease; None when cancelled or when ``unusable()`` says the run must stop."""
        unregister = cancel.on_cancel(self._wake_all)
        try:
            with self._cond:
                while not cancel.is_cancelled() and self.unusable() is None:
                    lease = self.try_acquire()
                    if lease is not None:
                        return lease
                    self._cond.wait(self._seconds_to_next_change())
                return None
        finally:
            unregister()

    @contextmanager
    def session(self, cancel: CancelToken) -> Iterator[Lease | None]:
        """``acquire``, released on exit; yields None (holding nothing) when there is no slot."""
        lease = self.acquire(cancel)
        try:
            yield lease
        finally:
            if lease is not None:
                lease.release()

    def _lease(self, member: _Member, *, probe: bool) -> Lease:
        member.sessions += 1
        self.peak_active = max(self.peak_active, sum(m.limiter.active for m in self._members))
        return Lease(self, member, probe=probe)

    def congestion(self, name: str) -> AdaptiveLimiter:
        """The limiter of the resource named ``name`` (an engine's own ``Congestion``; sessions
        report to their ``Lease``)."""
        return next(m.limiter for m in self._members if m.resource.name == name)

    @property
    def throttled(self) -> int:
        """Throttling answers from every resource together."""
        with self._cond:
            return sum(m.limiter.throttled for m in self._members)

    def _seconds_to_next_change(self) -> float | None:
        now = self._clock()
        ends = [m.until for m in self._members if m.state == "quarantined"]
        if self._all_out_since is not None:
            ends.append(self._all_out_since + self._policy.give_up_after)
        return max(0.0, min(ends) - now) if ends else None

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- outcomes -------------------------------------------------------------------------------

    def _connected(self, member: _Member, seconds: float, *, probe: bool) -> None:
        with self._cond:
            self._reached(member, probe=probe)
            member.limiter.connected(seconds)

    def _reached(self, member: _Member, *, probe: bool) -> None:
        with self._cond:
            member.connected_once = True
            if not member.probe_must_finish:
                member.in_a_row.clear()
            if probe and member.state == "probing" and not member.probe_must_finish:
                self._probe_passed(member)
            self._cond.notify_all()

    def _succeeded(self, member: _Member, audio_seconds: float, *, probe: bool) -> None:
        with self._cond:
            member.audio_seconds += audio_seconds
            member.in_a_row.clear()
            if probe and member.state == "probing":
                self._probe_passed(member)
            member.limiter.succeeded()
            self._cond.notify_all()

    def _probe_passed(self, member: _Member) -> None:
        member.state = "healthy"
        member.backoffs = 0
        member.probe_must_finish = False
        self._back_in(member)
        member.limiter.restart(self._start)

    def _failed(self, member: _Member, kind: FailureKind, detail: str, *, probe: bool) -> None:
        with self._cond:
            member.failures[kind] = member.failures.get(kind, 0) + 1
            if member.state == "disabled":
                return
            reason = f"{_FAILURE_TEXT[kind]}: {detail}" if detail else _FAILURE_TEXT[kind]
            if kind == "credentials":
                self._take_out(member, "disabled", self._credentials_reason(member, detail))
                return
            if member.state == "quarantined" or (member.state == "probing" and not probe):
                return  # a session that was already on it when it went out: counted, no new strike
            member.in_a_row[kind] = member.in_a_row.get(kind, 0) + 1
            if probe or member.in_a_row[kind] >= self._policy.strikes.get(kind, 1):
                member.in_a_row.clear()
                member.probe_must_finish = kind == "stalled"
                self._take_out(member, "quarantined", reason)

    def _release(self, member: _Member, *, probe: bool) -> None:
        with self._cond:
            if probe:
                member.probe_out = False
            member.limiter.release()  # notifies every waiter

    def _credentials_reason(self, member: _Member, detail: str) -> str:
        resource = member.resource
        what = {
            "key": f"its key (from {resource.key_variable}) was rejected",
            "entra": "its Entra ID token was rejected (check the role assignment and the endpoint)",
            "none": "it refused access",
        }[resource.authentication]
        return f"{what}: {detail}" if detail else what

    def _take_out(self, member: _Member, state: State, reason: str) -> None:
        now = self._clock()
        if member.out_since is None:
            member.out_since = now
        member.state = state
        member.quarantines += 1
        if reason not in member.reasons:
            member.reasons.append(reason)
        if state == "quarantined":
            backoff = self._policy.first_backoff * 2**member.backoffs
            member.until = now + min(backoff, self._policy.max_backoff)
            member.backoffs += 1
        if self._all_out_since is None and all(m.state != "healthy" for m in self._members):
            self._all_out_since = now
        self._cond.notify_all()

    def _back_in(self, member: _Member) -> None:
        if member.out_since is not None:
            member.out_total += self._clock() - member.out_since
            member.out_since = None
        self._all_out_since = None

    # -- the run as a whole ---------------------------------------------------------------------

    def unusable(self) -> str | None:
        """Why no resource can take sessions any more (the run aborts, exit 3), or None."""
        with self._cond:
            if any(m.state == "healthy" for m in self._members):
                return None
            out = "; ".join(f"{m.resource.name}: {', '.join(m.reasons)}" for m in self._members)
            if all(m.state == "disabled" for m in self._members):
                return f"every Speech resource rejected its credentials ({out})"
            if not any(m.connected_once for m in self._members):
                return f"no Speech resource could be reached ({out})"
            since = self._all_out_since
            if since is not None and self._clock() - since >= self._policy.give_up_after:
                return f"no Speech resource has been usable for {self._policy.give_up_after:.0f} s ({out})"
            return None

    def abort_error(self) -> RunAbortedError:
        """The error to end the run with when ``unusable()`` says so."""
        reason = self.unusable() or "no Speech resource is usable"
        return RunAbortedError(reason, hint="check each resource's key or role, its address and its status")

    def stats(self) -> tuple[ResourceStats, ...]:
        with self._cond:
            now = self._clock()
            return tuple(
                ResourceStats(
                    name=m.resource.name,
                    state=m.state,
                    sessions=m.sessions,
                    audio_seconds=m.audio_seconds,
                    throttled=m.limiter.throttled,
                    failures=dict(m.failures),
                    quarantines=m.quarantines,
                    quarantined_s=m.out_total + (now - m.out_since if m.out_since is not None else 0.0),
                    reasons=tuple(m.reasons),
                    peak_active=m.limiter.peak_active,
                    limit=m.limiter.limit,
                )
                for m in self._members
            )


__all__ = ["FailureKind", "Lease", "QuarantinePolicy", "Resource", "ResourceStats", "Rotation"]
