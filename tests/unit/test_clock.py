"""The clock seam: time formats, timeouts measured on a clock, and no reading of time around it.

Only `kfval/embedded/clock.py` may read wall or loop time, sleep or set timers: everything else in
the embedded cluster goes through an injected Clock, so that a test's fake clock holds all of it.
The check walks the source, so the seam cannot erode unnoticed; its allow-list names each
exception and why it is one.
"""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

import kfval.embedded
from kfval.embedded.clock import unix_nanos, wait_event, within
from tests.support.clock import FakeClock
from tests.support.loop import on_loop
from tests.support.polling import settle

EMBEDDED = Path(kfval.embedded.__file__).parent

ALLOWED = {
    ("launch.py", "time.monotonic"): "the synchronous door, run in the suite's process, not on the cluster's loop",
    ("launch.py", "time.sleep"): "the synchronous door, run in the suite's process, not on the cluster's loop",
    ("kubelet/probes.py", "asyncio.wait_for"): "a probe's TCP connect is socket I/O, bounded as I/O",
    ("kubelet/sandbox.py", "asyncio.wait_for"): "a host administration command (`ip ...`) is bounded as I/O",
    ("kubelet/pods.py", "asyncio.wait(timeout=)"): "shutting down must end even while a test holds the clock",
}
"""(module, what it uses) -> why it may: every other use of time outside clock.py is a finding."""

READERS = {
    "time": {"monotonic", "monotonic_ns", "time", "time_ns", "perf_counter", "perf_counter_ns", "sleep"},
    "asyncio": {"sleep", "wait_for", "timeout", "timeout_at"},
    "datetime": {"now", "utcnow", "today"},
    "date": {"today"},
}
"""Module attributes that read the time or wait on it."""
LOOP_TIMERS = {"call_later", "call_at"}
"""Timer methods: allowed only on a clock (`self._clock.call_later`), never on the event loop."""


def _uses_of_time(tree: ast.AST) -> set[str]:
    """What a module uses that reads time or waits on it, named as `ALLOWED` names it."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "asyncio"):
            found.update(f"from {node.module} import {alias.name}" for alias in node.names)
        if not isinstance(node, ast.Attribute):
            continue
        owner = ast.unparse(node.value)
        if node.attr in READERS.get(owner, ()) or (node.attr in LOOP_TIMERS and not owner.endswith("clock")):
            found.add(f"{owner}.{node.attr}")
        elif node.attr == "time" and "loop" in owner:
            found.add(f"{owner}.time")
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    if any(
        ast.unparse(call.func) == "asyncio.wait" and any(k.arg == "timeout" for k in call.keywords) for call in calls
    ):
        found.add("asyncio.wait(timeout=)")
    return found


def test_only_clock_py_reads_time_sleeps_or_sets_timers() -> None:
    findings: set[tuple[str, str]] = set()
    for path in sorted(EMBEDDED.rglob("*.py")):
        module = path.relative_to(EMBEDDED).as_posix()
        if module == "clock.py":
            continue
        findings.update((module, use) for use in _uses_of_time(ast.parse(path.read_text())))
    assert findings - ALLOWED.keys() == set(), "time outside the Clock seam (route it through the injected clock)"
    assert ALLOWED.keys() - findings == set(), "an allow-list entry no longer needed: remove it"


def test_the_check_sees_each_way_of_reading_time() -> None:
    source = """
import time, asyncio
from time import monotonic
async def f(loop, clock, self):
    time.monotonic(); time.sleep(1); await asyncio.sleep(1); await asyncio.wait_for(x, 1)
    loop.call_later(1, f); asyncio.get_running_loop().time(); datetime.now(UTC)
    self._clock.call_later(1, f); clock.monotonic(); await asyncio.wait({a}, timeout=2)
"""
    assert _uses_of_time(ast.parse(source)) == {
        "from time import monotonic",
        "time.monotonic",
        "time.sleep",
        "asyncio.sleep",
        "asyncio.wait_for",
        "loop.call_later",
        "asyncio.get_running_loop().time",
        "datetime.now",
        "asyncio.wait(timeout=)",
    }


def test_clock_nanos() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    assert unix_nanos(moment) % 1_000_000_000 == 120_000_000


@on_loop
async def test_within_times_out_only_when_the_clock_passes_the_limit() -> None:
    clock = FakeClock()
    never = asyncio.Event()
    waiting = asyncio.ensure_future(within(clock, never.wait(), 2.0))
    await clock.advance(1.9)
    assert not waiting.done()
    await clock.advance(0.1)
    with pytest.raises(TimeoutError):
        await waiting
    assert await within(clock, asyncio.sleep(0, result="done"), 2.0) == "done"


@on_loop
async def test_within_passes_the_callers_cancellation_on() -> None:
    clock = FakeClock()
    waiting = asyncio.ensure_future(within(clock, asyncio.Event().wait(), 2.0))
    await settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert clock.pending() == []


@on_loop
async def test_wait_event_tells_a_set_event_from_a_timeout() -> None:
    clock = FakeClock()
    event = asyncio.Event()
    late = asyncio.ensure_future(wait_event(clock, event, 1.0))
    await clock.advance(1.0)
    assert await late is False
    early = asyncio.ensure_future(wait_event(clock, event, 1.0))
    await settle()
    event.set()
    assert await early is True
    assert clock.pending() == []


@on_loop
async def test_the_fake_clock_fires_timers_in_order_and_only_when_moved() -> None:
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(0.2, lambda: fired.append(f"b@{clock.monotonic():g}"))
    clock.call_later(0.1, lambda: fired.append(f"a@{clock.monotonic():g}"))
    clock.call_later(0.3, lambda: fired.append("cancelled")).cancel()
    clock.call_later(0, lambda: fired.append("due now"))
    before = clock.now()
    await settle()
    assert (fired, clock.now()) == (["due now"], before)
    await clock.advance(0.25)
    assert fired == ["due now", "a@0.1", "b@0.2"]
    assert clock.monotonic() == pytest.approx(0.25)
