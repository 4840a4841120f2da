"""The one fake clock of the tests: time moves only when the test moves it.

It is a :class:`kfval.embedded.clock.Clock`, so a store, the controllers and the kubelet run on it
unchanged. Its time stands still (see `step`); `sleep` and `call_later` register timers that
fire, in order of their due time, only when the test moves the clock: `move` from plain code, or
`advance` on the event loop, which also lets the woken code run (and fires the timers it sets
within the same stretch of time). A timer due at once (no delay) fires on the loop's next turn
without the clock moving, as on the real clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.support import polling

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeTimer:
    """A callback due at `due` seconds on the fake clock's monotonic scale."""

    def __init__(self, due: float, sequence: int, callback: Callable[[], object]) -> None:
        self.due = due
        self.sequence = sequence
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: FakeTimer) -> bool:
        return (self.due, self.sequence) < (other.due, other.sequence)

    def cancel(self) -> None:
        self.cancelled = True

    def when(self) -> float:
        return self.due


class FakeClock:
    """Stands still at `start` until moved; with `step`, each reading of `now()` is `step` later than the last.

    The step serves code that names things after the wall time (events get distinct names when
    every reading is a microsecond later, as they would be on a real clock). `monotonic()`, which
    every timer runs on, moves only when the test moves the clock.
    """

    def __init__(self, start: datetime = START, *, step: timedelta = timedelta(0)) -> None:
        self._start = start
        self._elapsed = timedelta(0)
        self._step = step
        self._drift = timedelta(0)
        self._timers: list[FakeTimer] = []
        self._sequence = itertools.count()

    # -- the Clock protocol ------------------------------------------------------------------------

    def now(self) -> datetime:
        self._drift += self._step
        return self._start + self._elapsed + self._drift

    def monotonic(self) -> float:
        return self._seconds()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, lambda: woken.done() or woken.set_result(None))
        try:
            await woken
        finally:
            timer.cancel()

    def call_later(self, delay: float, callback: Callable[[], object]) -> FakeTimer:
        timer = FakeTimer(self._seconds() + max(0.0, delay), next(self._sequence), callback)
        heapq.heappush(self._timers, timer)
        if delay <= 0:
            asyncio.get_running_loop().call_soon(self._fire_due)
        return timer

    # -- moving it ---------------------------------------------------------------------------------

    def move(self, seconds: float) -> None:
        """Move the time on by `seconds`, firing every timer that falls due, in order, at its due time."""
        target = self._seconds() + seconds
        while (timer := self._next_due(target)) is not None:
            self._fire(timer)
        self._set(max(target, self._seconds()))

    async def advance(self, seconds: float) -> None:
        """`move` on the event loop: what is ready runs first, then after each timer, so woken code reacts in time."""
        await polling.settle()
        target = self._seconds() + seconds
        while (timer := self._next_due(target)) is not None:
            self._fire(timer)
            await polling.settle()
        self._set(max(target, self._seconds()))
        await polling.settle()

    def pending(self) -> list[float]:
        """The due times of the timers still waiting, earliest first."""
        return sorted(timer.due for timer in self._timers if not timer.cancelled)

    def _seconds(self) -> float:
        return self._elapsed.total_seconds()

    def _set(self, seconds: float) -> None:
        self._elapsed = timedelta(seconds=seconds)

    def _next_due(self, until: float) -> FakeTimer | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if self._timers and self._timers[0].due <= until:
            return heapq.heappop(self._timers)
        return None

    def _fire(self, timer: FakeTimer) -> None:
        self._set(max(timer.due, self._seconds()))
        timer.callback()

    def _fire_due(self) -> None:
        while (timer := self._next_due(self._seconds())) is not None:
            timer.callback()
