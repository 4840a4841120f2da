"""Watch fan-out: every change goes to every subscriber whose filter it passes.

Each subscriber has a bounded queue; one that falls too far behind is closed with 410 rather
than allowed to grow without bound, and its client re-watches (kube-apiserver's cacher does the same).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from kfval.embedded.errors import GoneError
from kfval.embedded.types import Body, ResourceKey, WatchEvent

MAX_PENDING_EVENTS = 10_000


@dataclass(frozen=True)
class Filter:
    """Which events one watcher wants: a resource, maybe a namespace, maybe a predicate on the object."""

    key: ResourceKey
    namespace: str | None = None
    predicate: Callable[[Body], bool] | None = None

    def in_scope(self, body: Body) -> bool:
        return self.namespace is None or body.get("metadata", {}).get("namespace") == self.namespace

    def admits(self, body: Body | None) -> bool:
        if body is None or not self.in_scope(body):
            return False
        return self.predicate is None or self.predicate(body)

    def translate(self, event: WatchEvent) -> WatchEvent | None:
        """The event this watcher sees: selectors turn "started/stopped matching" into ADDED/DELETED."""
        now = self.admits(event.object)
        if event.type != "MODIFIED" or event.previous is None:
            return event if now else None
        before = self.admits(event.previous)
        if now and before:
            return event
        if now:
            return WatchEvent("ADDED", event.object, event.resource_version, event.key)
        if before:
            return WatchEvent("DELETED", event.object, event.resource_version, event.key)
        return None


class Subscription:
    """One open watch: an async iterator of events, first the initial ones, then live ones."""

    def __init__(self, fanout: Fanout, filt: Filter, initial: list[WatchEvent], start_version: int) -> None:
        self._fanout = fanout
        self.filter = filt
        self.start_version = start_version
        self.initial_count = len(initial)
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._overflowed = False
        for event in initial:
            self._queue.put_nowait(event)

    def offer(self, event: WatchEvent) -> None:
        seen = self.filter.translate(event)
        if seen is None:
            return
        if self._queue.qsize() >= MAX_PENDING_EVENTS:
            self._overflowed = True
            self._queue.put_nowait(None)
            self._fanout.unsubscribe(self)
            return
        self._queue.put_nowait(seen)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self._queue.get()
        if event is None:
            if self._overflowed:
                raise GoneError("watch channel was closed: the watcher fell too far behind")
            raise StopAsyncIteration
        return event

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._fanout.unsubscribe(self)
        self._queue.put_nowait(None)


class Fanout:
    """The set of open subscriptions, indexed by resource."""

    def __init__(self) -> None:
        self._subscribers: dict[ResourceKey, set[Subscription]] = {}

    def subscribe(self, filt: Filter, initial: list[WatchEvent], start_version: int) -> Subscription:
        sub = Subscription(self, filt, initial, start_version)
        self._subscribers.setdefault(filt.key, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.get(sub.filter.key, set()).discard(sub)

    def publish(self, event: WatchEvent) -> None:
        for sub in list(self._subscribers.get(event.key, ())):
            sub.offer(event)

    def close_all(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.close()
