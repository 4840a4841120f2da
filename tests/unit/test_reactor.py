"""The reactor keeps controllers alive: a crashing reconcile is retried, a 410 re-watches, requeues coalesce."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from kfval.embedded.controllers.reactor import Watched
from kfval.embedded.store import fanout
from kfval.embedded.types import ObjectKey
from tests.support.cluster import Harness, running
from tests.support.loop import on_loop
from tests.support.polling import eventually


@dataclass
class Recording:
    """A controller over config maps that records its reconciles (name, clock time) and does what `behaviour` says."""

    behaviour: Callable[[ObjectKey, int], float | None]
    harness: Harness | None = None
    name: str = "recording"
    calls: list[tuple[str, float]] = field(default_factory=list)

    def watches(self) -> Sequence[Watched]:
        return [Watched("", "v1", "configmaps")]

    async def reconcile(self, key: ObjectKey) -> float | None:
        assert self.harness is not None
        self.calls.append((key.name, self.harness.clock.monotonic()))
        return self.behaviour(key, sum(1 for name, _ in self.calls if name == key.name))

    def count(self, name: str) -> int:
        return sum(1 for seen, _ in self.calls if seen == name)

    def start(self, harness: Harness) -> None:
        self.harness = harness
        harness.reactor.start(self)


def create(h: Harness, name: str) -> None:
    h.store.create(h.rt("configmaps"), {"metadata": {"name": name}}, namespace=h.namespace)


def change(h: Harness, name: str, value: str) -> None:
    body = h.store.get(h.rt("configmaps"), h.namespace, name)
    body["data"] = {"k": value}
    h.store.replace(h.rt("configmaps"), body)


@on_loop
async def test_a_reconcile_that_raises_is_logged_retried_and_does_not_end_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def behaviour(key: ObjectKey, attempt: int) -> float | None:
        if key.name == "bad" and attempt == 1:
            raise KeyError("spec")
        return None

    controller = Recording(behaviour)
    with caplog.at_level(logging.ERROR, logger="kfval.embedded.controllers.reactor"):
        async with running() as h:
            controller.start(h)
            create(h, "bad")
            await eventually(lambda: controller.count("bad") == 1, "the failing reconcile")
            await h.advance(0.1)  # the reactor's first back-off after a failure
            await eventually(lambda: controller.count("bad") == 2, "the retry")
            create(h, "good")
            await eventually(lambda: controller.count("good") == 1, "the next key")
    crashed = [r for r in caplog.records if "reconcile of" in r.getMessage()]
    assert len(crashed) == 1
    assert crashed[0].exc_info is not None and isinstance(crashed[0].exc_info[1], KeyError)


@on_loop
async def test_a_watch_that_falls_behind_is_listed_and_watched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MAX_PENDING_EVENTS", 3)
    controller = Recording(lambda key, attempt: None)
    async with running() as h:
        controller.start(h)
        await h.settle()  # the feed opens its watch
        for index in range(8):  # no await in between: the feed's queue overflows and is closed with 410
            create(h, f"burst-{index}")
        await eventually(lambda: all(controller.count(f"burst-{i}") >= 1 for i in range(8)), "the burst")
        create(h, "after")
        await eventually(lambda: controller.count("after") == 1, "the key after the burst")


@on_loop
async def test_requeues_of_one_key_keep_a_single_timer_the_earliest() -> None:
    delays = {1: 0.4, 2: 0.05}
    controller = Recording(lambda key, attempt: delays.get(attempt))
    async with running() as h:
        controller.start(h)
        create(h, "cm")
        await eventually(lambda: controller.count("cm") == 1, "the first reconcile")
        change(h, "cm", "v")  # reconcile 2 asks for 0.05 s: it replaces the pending 0.4 s timer
        await eventually(lambda: controller.count("cm") == 2, "the second reconcile")
        await h.advance(0.05)
        assert controller.count("cm") == 3
        await h.advance(0.6)  # the replaced 0.4 s timer must not fire a fourth reconcile
        assert controller.count("cm") == 3
        second, third = controller.calls[1][1], controller.calls[2][1]
        assert third - second == pytest.approx(0.05)


@on_loop
async def test_many_requeues_do_not_multiply_reconciles() -> None:
    controller = Recording(lambda key, attempt: 0.1)
    async with running() as h:
        controller.start(h)
        create(h, "cm")
        await eventually(lambda: controller.count("cm") == 1, "the first reconcile")
        for value in range(5):
            await h.advance(0.02)
            change(h, "cm", str(value))
        await h.settle()
        before = controller.count("cm")
        await h.advance(0.35)
        assert controller.count("cm") - before <= 5  # one chain of 0.1 s timers, not one per requeue
