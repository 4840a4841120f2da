"""The kubelet's back-off bookkeeping, as client-go's `flowcontrol.Backoff` keeps it.

Crash loops and failed image pulls slow down the same way on a real node: the first retry is
immediate, then each retry waits twice as long as the last (10 s, 20 s, ... up to 300 s), and an
entry that has been quiet for twice the maximum is forgotten, which is why a container that ran for
ten minutes starts over at 10 s. Back-off windows are waited out on the cluster's clock, so tests
move a fake clock instead of waiting for real time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kfval.embedded.clock import Clock, wait_event

DEFAULT_INITIAL_SECONDS = 10.0
DEFAULT_MAX_SECONDS = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float


class BackOff:
    """Per-key exponential back-off, measured on a monotonic clock the caller passes in."""

    def __init__(
        self, initial_seconds: float = DEFAULT_INITIAL_SECONDS, max_seconds: float = DEFAULT_MAX_SECONDS
    ) -> None:
        self.initial_seconds = initial_seconds
        self.max_seconds = max(initial_seconds, max_seconds)
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now - entry.last_update > 2 * self.max_seconds

    def next(self, key: str, now: float) -> float:
        """Record a retry at `now`: the delay that the following retry will have to wait."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            entry = _Entry(self.initial_seconds, now)
        else:
            entry = _Entry(min(entry.delay * 2, self.max_seconds), now)
        self._entries[key] = entry
        return entry.delay

    def in_back_off_since(self, key: str, event_time: float) -> bool:
        """Whether something that happened at `event_time` falls inside the current back-off window."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return event_time - entry.last_update < entry.delay

    def delay(self, key: str) -> float:
        """The current back-off of `key` (what `back-off 20s` messages print); the initial one when unknown."""
        entry = self._entries.get(key)
        return entry.delay if entry is not None else self.initial_seconds

    def remaining(self, key: str, now: float) -> float:
        """Seconds until the current back-off window of `key` closes (0 when it is already closed)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.last_update + entry.delay - now)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()`, which kubelet event messages print."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000:
        return f"{nanos}ns"
    if nanos < 1_000_000:
        return f"{nanos / 1e3:.3f}".rstrip("0").rstrip(".") + "µs"
    if nanos < 1_000_000_000:
        return f"{nanos / 1e6:.6f}".rstrip("0").rstrip(".") + "ms"
    minutes, rest = divmod(nanos, 60_000_000_000)
    secs = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if not minutes:
        return secs
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}"


async def sleep_unless(clock: Clock, stopping: asyncio.Event, seconds: float) -> bool:
    """Wait out a back-off window on `clock`; True when `stopping` was set first (the pod is going away)."""
    return await wait_event(clock, stopping, seconds)
