"""`tasks.follow`: a store watch that survives 410 Gone and leaves its follower no ghosts."""

from __future__ import annotations

import asyncio

import pytest

from kfval.embedded import tasks
from kfval.embedded.clock import SystemClock
from kfval.embedded.store import fanout
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import WatchEvent

NS = "default"


def test_after_a_410_the_follower_relists_and_hears_of_what_vanished(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MAX_PENDING_EVENTS", 3)

    async def main() -> tuple[list[WatchEvent], dict[str, str], dict[str, str]]:
        store = Store(Catalog(), SystemClock())
        store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
        rt = store.catalog.lookup("", "v1", "configmaps")
        for name in ("a", "b", "c"):
            store.create(rt, {"metadata": {"name": name}}, namespace=NS)
        seen: list[WatchEvent] = []
        view: dict[str, str] = {}
        events = tasks.follow(lambda: store.watch(rt), what="configmaps")
        while len(view) < 3:
            event = await anext(events)
            seen.append(event)
            view[event.object["metadata"]["name"]] = event.object["metadata"]["uid"]
        old_b = view["b"]
        for name in ("d", "e", "f", "g"):  # overflows the watch: it is closed with 410
            store.create(rt, {"metadata": {"name": name}}, namespace=NS)
        store.delete(rt, NS, "a")
        store.delete(rt, NS, "b")
        store.create(rt, {"metadata": {"name": "b"}}, namespace=NS)
        expected = {item["metadata"]["name"]: item["metadata"]["uid"] for item in store.list(rt, NS)[0]}
        while view != expected:
            event = await asyncio.wait_for(anext(events), 2.0)
            seen.append(event)
            meta = event.object["metadata"]
            if event.type == "DELETED":
                assert view.pop(meta["name"]) == meta["uid"]
            else:
                view[meta["name"]] = meta["uid"]
        await events.aclose()
        return seen, expected, {"old_b": old_b}

    seen, expected, old = asyncio.run(main())
    deleted = [(e.object["metadata"]["name"], e.object["metadata"]["uid"]) for e in seen if e.type == "DELETED"]
    assert ("b", old["old_b"]) in deleted
    assert "a" in {name for name, _ in deleted}
    assert expected["b"] != old["old_b"]


def test_a_closed_watch_ends_the_follower() -> None:
    async def main() -> list[str]:
        store = Store(Catalog(), SystemClock())
        rt = store.catalog.lookup("", "v1", "namespaces")
        store.create(rt, {"metadata": {"name": "one"}})
        names = []
        async for event in tasks.follow(lambda: store.watch(rt), what="namespaces"):
            names.append(event.object["metadata"]["name"])
            store.fanout.close_all()
        return names

    assert asyncio.run(main()) == ["one"]
