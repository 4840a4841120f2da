"""The reactor keeps controllers alive: a crashing reconcile is retried, a 410 re-watches, requeues coalesce."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.controllers.reactor import Reactor, Watched
from kfval.embedded.store import fanout
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import ObjectKey

NS = "default"


@dataclass
class Recording:
    """A controller over config maps that records its reconciles and does what `behaviour` says."""

    behaviour: Callable[[ObjectKey, int], float | None]
    name: str = "recording"
    calls: list[tuple[str, float]] = field(default_factory=list)

    def watches(self) -> Sequence[Watched]:
        return [Watched("", "v1", "configmaps")]

    async def reconcile(self, key: ObjectKey) -> float | None:
        self.calls.append((key.name, asyncio.get_running_loop().time()))
        return self.behaviour(key, sum(1 for name, _ in self.calls if name == key.name))

    def count(self, name: str) -> int:
        return sum(1 for seen, _ in self.calls if seen == name)


def run(controller: Recording, scenario: Callable[[Store], Awaitable[None]]) -> None:
    async def main() -> None:
        clock = SystemClock()
        store = Store(Catalog(), clock)
        store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
        tasks = TaskGroup()
        Reactor(store, clock, tasks).start(controller)
        try:
            await scenario(store)
        finally:
            await tasks.close()
        assert tasks.crash is None

    asyncio.run(main())


async def until(check: Callable[[], bool], timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def create(store: Store, name: str) -> None:
    store.create(store.catalog.lookup("", "v1", "configmaps"), {"metadata": {"name": name}}, namespace=NS)


def test_a_reconcile_that_raises_is_logged_retried_and_does_not_end_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def behaviour(key: ObjectKey, attempt: int) -> float | None:
        if key.name == "bad" and attempt == 1:
            raise KeyError("spec")
        return None

    controller = Recording(behaviour)

    async def scenario(store: Store) -> None:
        create(store, "bad")
        await until(lambda: controller.count("bad") == 2)
        create(store, "good")
        await until(lambda: controller.count("good") == 1)

    with caplog.at_level(logging.ERROR, logger="kfval.embedded.controllers.reactor"):
        run(controller, scenario)
    crashed = [r for r in caplog.records if "reconcile of" in r.getMessage()]
    assert len(crashed) == 1
    assert crashed[0].exc_info is not None and isinstance(crashed[0].exc_info[1], KeyError)


def test_a_watch_that_falls_behind_is_listed_and_watched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MAX_PENDING_EVENTS", 3)
    controller = Recording(lambda key, attempt: None)

    async def scenario(store: Store) -> None:
        await asyncio.sleep(0.05)  # the feed opens its watch
        for index in range(8):  # no await in between: the feed's queue overflows and is closed with 410
            create(store, f"burst-{index}")
        await until(lambda: all(controller.count(f"burst-{i}") >= 1 for i in range(8)))
        create(store, "after")
        await until(lambda: controller.count("after") == 1)

    run(controller, scenario)


def test_requeues_of_one_key_keep_a_single_timer_the_earliest() -> None:
    delays = {1: 0.4, 2: 0.05}

    def behaviour(key: ObjectKey, attempt: int) -> float | None:
        return delays.get(attempt)

    controller = Recording(behaviour)

    async def scenario(store: Store) -> None:
        create(store, "cm")
        await until(lambda: controller.count("cm") == 1)
        rt = store.catalog.lookup("", "v1", "configmaps")
        body = store.get(rt, NS, "cm")
        body["data"] = {"k": "v"}
        store.replace(rt, body)  # reconcile 2 asks for 0.05 s: it replaces the pending 0.4 s timer
        await until(lambda: controller.count("cm") == 3)
        await asyncio.sleep(0.6)  # the replaced 0.4 s timer must not fire a fourth reconcile
        assert controller.count("cm") == 3
        second, third = controller.calls[1][1], controller.calls[2][1]
        assert third - second < 0.3

    run(controller, scenario)


def test_many_requeues_do_not_multiply_reconciles() -> None:
    controller = Recording(lambda key, attempt: 0.1)

    async def scenario(store: Store) -> None:
        create(store, "cm")
        rt = store.catalog.lookup("", "v1", "configmaps")
        await until(lambda: controller.count("cm") == 1)
        for value in range(5):
            await asyncio.sleep(0.02)
            body = store.get(rt, NS, "cm")
            body["data"] = {"k": str(value)}
            store.replace(rt, body)
        before = controller.count("cm")
        await asyncio.sleep(0.35)
        assert controller.count("cm") - before <= 5  # one chain of 0.1 s timers, not one per requeue

    run(controller, scenario)
