"""Riding out an API server that stops answering for a while, and the record of each time it did.

On a real cluster a control-plane restart, a load balancer flap or an upgrade takes the API away for
seconds; a validation that failed then would report a product failure that is not one. So a request
that may be sent again and got no useful answer (refused, reset, TLS cut off, timed out, 429, 5xx)
reports it here: the first such failure opens an outage, every later one extends it and pauses before
the next try, and the first answer closes it. An outage longer than its bound (`timeouts.api_outage`,
or during cleanup the cleanup's own deadline) fails the request with the server, the time it has been
unreachable and the last error; a server that will never come back (the embedded cluster's process
died) fails it at once. A server that never answered at all is a wrong address, not an outage: that
fails at once too, as the run's first request.

Each outage is kept as a record for the step's evidence (start, length, what was retried).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kfval.kube import errors

DEFAULT_BOUND_SECONDS = 60.0
"""radish.ini `timeouts.api_outage`: long enough for a control-plane restart or a load balancer flap."""
FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 2.0
"""Pauses double from the first to this: the API is found again within this long after it returns."""

Vanished = Callable[[], str | None]
"""Why the server will never answer again (e.g. the embedded cluster's process is dead), or None while it may."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outage:
    """One stretch of time in which the API server gave no useful answer, as the report shows it."""

    server: str
    started_at: datetime
    seconds: float
    retried: tuple[tuple[str, int], ...]
    """Each request that was tried again, with how many times it failed."""
    last_error: str
    over: bool
    """Whether the server answered again (False: the outage was still going on when it was recorded)."""

    def describe(self) -> str:
        state = "then it answered again" if self.over else "and it still did not answer"
        tries = ", ".join(f"{what} (failed {count}x)" for what, count in self.retried)
        return (
            f"API server {self.server} unreachable from {self.started_at:%H:%M:%S} UTC for {self.seconds:.1f} s, "
            f"{state}; retried: {tries}; last error: {self.last_error}"
        )


@dataclass
class _Open:
    """The outage in progress."""

    started: float
    started_at: datetime
    retried: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    failures: int = 0
    reported: int = 0
    """Failures already handed out by `drain`."""


@dataclass(frozen=True)
class _Deadline:
    """A bound that is a point in time (the cleanup's deadline) rather than a length of outage."""

    at: float
    name: str


class Outages:
    """The outages of one connection: the one in progress, those that ended, and the bound on their length."""

    def __init__(
        self,
        server: str,
        context: str,
        *,
        bound_seconds: float = DEFAULT_BOUND_SECONDS,
        vanished: Vanished | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.server = server
        self.context = context
        self.bound_seconds = bound_seconds
        self._vanished = vanished
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._reached = False
        self._current: _Open | None = None
        self._ended: list[Outage] = []
        self._deadline: _Deadline | None = None
        self._lock = threading.Lock()
        """A scenario's usage sampler sends requests on a thread of its own through the same connection."""

    def now(self) -> float:
        """The clock outages are measured on (monotonic seconds): when a request is about to be sent."""
        return self._clock()

    def answered(self) -> None:
        """The server answered: the outage in progress, if any, is over."""
        with self._lock:
            self._reached = True
            if self._current is not None:
                self._ended.append(self._record(self._current, over=True))
                self._current = None

    def failed(self, what: str, error: BaseException, *, since: float, retry_after: float | None = None) -> None:
        """`what` ("list pods in namespace x"), sent at `since`, got no useful answer: pause before it is tried
        again, or raise the error that ends the trying (never reached, gone for good, outage too long)."""
        with self._lock:
            if not self._reached:
                raise errors.unreachable(error, server=self.server, context=self.context) from error
            now = self._clock()
            if self._current is None:
                started = min(since, now)
                self._current = _Open(started, self._wall_clock() - timedelta(seconds=now - started))
            current = self._current
            current.retried[what] = current.retried.get(what, 0) + 1
            current.last_error = errors.failure_text(error)
            current.failures += 1
        gone = self._vanished() if self._vanished is not None else None
        if gone is not None:
            raise errors.ClusterGoneError(
                f"the cluster is gone: {gone}, so the API server {self.server} will not answer again "
                f"(last error, while trying to {what}: {current.last_error})"
            ) from error
        left = self._left(current, now)
        if left <= 0:
            raise errors.ApiOutageError(self._too_long(current, now, what)) from error
        pause = self._backoff(current.failures) if retry_after is None else max(FIRST_PAUSE_SECONDS, retry_after)
        self._sleep(min(left, pause))

    @contextmanager
    def until(self, deadline: float, *, name: str) -> Iterator[None]:
        """Within the block, ride out outages until `deadline` (a `now()` value) instead of for the usual bound:
        cleanup keeps trying for as long as its own timeout allows. `name` says which, for the message."""
        previous, self._deadline = self._deadline, _Deadline(deadline, name)
        try:
            yield
        finally:
            self._deadline = previous

    def drain(self) -> list[Outage]:
        """The outages since the last call: those that ended, and the one in progress if it failed anew."""
        with self._lock:
            drained, self._ended = self._ended, []
            current = self._current
            if current is not None and current.failures > current.reported:
                current.reported = current.failures
                drained.append(self._record(current, over=False))
        return drained

    def _left(self, current: _Open, now: float) -> float:
        if self._deadline is not None:
            return self._deadline.at - now
        return current.started + self.bound_seconds - now

    def _too_long(self, current: _Open, now: float, what: str) -> str:
        bound = self._deadline.name if self._deadline is not None else f"timeouts.api_outage ({self.bound_seconds:g} s)"
        tries = ", ".join(f"{request} ({count}x)" for request, count in current.retried.items())
        return (
            f"the API server {self.server} (context {self.context!r}) has been unreachable for "
            f"{now - current.started:.1f} s, longer than {bound} allows, while trying to {what}; "
            f"last error: {current.last_error}; tried since {current.started_at:%H:%M:%S} UTC: {tries}"
        )

    def _record(self, current: _Open, *, over: bool) -> Outage:
        return Outage(
            server=self.server,
            started_at=current.started_at,
            seconds=self._clock() - current.started,
            retried=tuple(current.retried.items()),
            last_error=current.last_error,
            over=over,
        )

    @staticmethod
    def _backoff(failures: int) -> float:
        return float(min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (failures - 1)))
