"""The one way tests wait for something to happen: poll a probe until it holds, with a bound.

`eventually` waits on the event loop, `eventually_blocking` in plain code (integration tests).
Their timeouts are real time, a bound on a test gone wrong; they never move a fake clock (tests
move it themselves, so that what a test waits for never happens "by itself" in fake time).
`settle` lets the event loop run until the work that is ready has been done, without any clock
moving: what has not happened after it will not happen until some time passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from kfval.embedded.errors import NotFoundError

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.005
BLOCKING_POLL_SECONDS = 0.2
SETTLE_ROUNDS = 100
"""Turns of the event loop in `settle`: far more than the longest chain of watch -> queue -> write hops."""


async def eventually(
    probe: Callable[[], T],
    what: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ignoring: tuple[type[Exception], ...] = (NotFoundError,),
) -> T:
    """Poll `probe` on the event loop until it returns something truthy, and return that.

    A probe that raises one of `ignoring` (an object not there yet) counts as not yet.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = _probed(probe, ignoring)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        await asyncio.sleep(POLL_SECONDS)


def eventually_blocking(
    probe: Callable[[], T],
    what: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    interval: float = BLOCKING_POLL_SECONDS,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """`eventually` for plain (non-async) code: polls every `interval` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = _probed(probe, ignoring)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        time.sleep(interval)


def _probed(probe: Callable[[], T], ignoring: tuple[type[Exception], ...]) -> T | None:
    try:
        return probe()
    except ignoring:
        return None


async def settle(rounds: int = SETTLE_ROUNDS) -> None:
    """Let every task that can run, run: `rounds` turns of the event loop, no clock moving."""
    for _ in range(rounds):
        await asyncio.sleep(0)
