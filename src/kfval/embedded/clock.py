"""Time for the embedded cluster, behind one seam so tests can freeze it and move it by hand.

The only module that reads the system clock or asks the event loop for time: timestamps in
objects, ages in tables, back-off delays, and every timer and sleep of the cluster (requeues,
heartbeats, probe periods, grace periods, watch deadlines) come from a :class:`Clock`. Waiting
"for an event, but at most so long" is built here on the clock's own timers (`within`,
`wait_event`), so a fake clock that stands still holds every timeout of the cluster still too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")


class TimerHandle(Protocol):
    """A scheduled callback: `when` is its due time on the clock's monotonic scale."""

    def cancel(self) -> None: ...

    def when(self) -> float: ...


class Clock(Protocol):
    """Tells the time and waits: `monotonic` for durations, `now` for timestamps written into objects.

    `sleep` and `call_later` measure on `monotonic`'s scale; they need a running event loop.
    """

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle: ...


class SystemClock:
    """The real clock: the event loop's timers, whose scale is `time.monotonic` on the standard loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)


async def within(clock: Clock, awaitable: Awaitable[T], seconds: float) -> T:
    """`asyncio.wait_for` measured on `clock`: the awaitable is cancelled after `seconds`, then TimeoutError.

    Cancelling the caller cancels the awaitable too; wrap it in `asyncio.shield` to keep it running.
    """
    task = asyncio.ensure_future(awaitable)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_later(max(0.0, seconds), expire)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if expired and (current is None or current.cancelling() == 0):
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()


async def wait_event(clock: Clock, event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set, at most `seconds` on `clock`; whether it was set."""
    if event.is_set():
        return True
    try:
        await within(clock, event.wait(), seconds)
    except TimeoutError:
        return event.is_set()
    return True


def rfc3339(moment: datetime) -> str:
    """Seconds-precision RFC 3339 in UTC, as Kubernetes writes `metav1.Time`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(moment: datetime) -> str:
    """Microsecond RFC 3339, as Kubernetes writes `metav1.MicroTime` (events, leases)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix_nanos(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch, exact (no float rounding); event names are built from it."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def parse_rfc3339(text: str) -> datetime:
    """Read a timestamp written by :func:`rfc3339` or :func:`rfc3339_micro`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def humanize_age(seconds: float) -> str:
    """kubectl's short duration (`5s`, `3m`, `2d`) for Table cells, which kubectl prints verbatim."""
    secs = max(0, int(seconds))
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"
