"""Faults played on cue: each when a run reaches a given point (an object appears in the cluster), in order.

A test cannot know when a step of the suite runs, but it can see the cluster directly (not through the
proxy): `Script` polls each cue's probe in a background thread and plays its fault the moment the probe
holds, then moves on to the next cue, which waits for the fault before it to end and then `gap` seconds
more (so that faults meant to be apart are not one long outage). What it played, and when, is kept for
the test's timings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from tests.faults.proxy import FaultProxy

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Cue:
    """Play `fault` on the proxy as soon as `ready()` holds; `what` names the moment for messages."""

    what: str
    ready: Callable[[], bool]
    fault: Callable[[FaultProxy], None]


class Script:
    """`with Script(proxy, cues, timeout=...) as script:` runs the cues in the background while the block
    runs (the block waits for the run to end); on leaving, fails the test if a cue never came while the run
    ran (its fault was not played)."""

    def __init__(self, proxy: FaultProxy, cues: list[Cue], *, timeout: float, gap: float = 0.0) -> None:
        self.proxy = proxy
        self.cues = cues
        self.timeout = timeout
        self.gap = gap
        self.played: list[tuple[str, float]] = []
        """Each cue that came, with when its fault started (time.monotonic)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-script", daemon=True)

    def __enter__(self) -> Script:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()  # the block (the run) is over: a cue that has not come by now never will
        self._thread.join(self.timeout)
        missed = [cue.what for cue in self.cues[len(self.played) :]]
        if kind is None and missed:
            raise AssertionError(f"the run never reached {missed[0]}, so its fault was not played")

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        quiet_until = 0.0
        for cue in self.cues:
            while time.monotonic() < quiet_until or not cue.ready():
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                time.sleep(POLL_SECONDS)
            self.played.append((cue.what, time.monotonic()))
            cue.fault(self.proxy)
            last = self.proxy.faults[-1]
            quiet_until = last.started + last.seconds + self.gap
