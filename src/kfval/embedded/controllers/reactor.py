"""The machinery every controller shares: watch -> work queue -> reconcile, with retries.

A controller declares which resources it watches and how an event maps to the objects it must
reconcile; the reactor lists and watches through the store (never peeking at its internals),
de-duplicates keys in a queue, and calls `reconcile` one key at a time. Conflicts and other
failures are retried with back-off (an unexpected exception is logged with its traceback, never
allowed to end the worker); a key can ask to be looked at again later (time-driven behaviour such
as activeDeadlineSeconds or TTLs), with at most one pending timer per key. A watch that falls
behind is listed and watched again (`tasks.follow`), so a burst of changes cannot end a feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kfval.embedded import tasks
from kfval.embedded.clock import Clock, TimerHandle
from kfval.embedded.errors import ApiError, ConflictError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body, ObjectKey, ResourceKey, ResourceType, WatchEvent

log = logging.getLogger(__name__)

CATALOG_POLL_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0
EVERY_RESOURCE = "*"
"""`Watched.resource` for a controller that watches every served resource (the garbage collector)."""


def own_key(event: WatchEvent) -> list[ObjectKey]:
    """The default mapper: reconcile the object the event is about."""
    meta = event.object["metadata"]
    return [ObjectKey(event.key, meta.get("namespace", ""), meta["name"])]


def owner_keys(owner: ResourceKey, kind: str) -> Callable[[WatchEvent], list[ObjectKey]]:
    """A mapper for dependents: reconcile the controlling owner of the given kind."""

    def mapper(event: WatchEvent) -> list[ObjectKey]:
        meta = event.object["metadata"]
        return [
            ObjectKey(owner, meta.get("namespace", ""), ref["name"])
            for ref in meta.get("ownerReferences") or []
            if ref.get("kind") == kind and ref.get("controller")
        ]

    return mapper


@dataclass(frozen=True)
class Watched:
    """One resource a controller watches, named by group/version/resource, and how events map to keys."""

    group: str
    version: str
    resource: str
    mapper: Callable[[WatchEvent], list[ObjectKey]] = own_key


class Controller(Protocol):
    """What the reactor drives. `reconcile` returns seconds until it wants the key again, or None."""

    name: str

    def watches(self) -> Sequence[Watched]: ...

    async def reconcile(self, key: ObjectKey) -> float | None: ...


@dataclass
class _Queue:
    clock: Clock
    pending: asyncio.Queue[ObjectKey] = field(default_factory=asyncio.Queue)
    queued: set[ObjectKey] = field(default_factory=set)
    failures: dict[ObjectKey, int] = field(default_factory=dict)
    timers: dict[ObjectKey, TimerHandle] = field(default_factory=dict)

    def add(self, key: ObjectKey) -> None:
        if key not in self.queued:
            self.queued.add(key)
            self.pending.put_nowait(key)

    def add_later(self, key: ObjectKey, delay: float) -> None:
        """Queue `key` after `delay` seconds; one timer per key, the earliest wins."""
        timer = self.timers.get(key)
        if timer is not None:
            if timer.when() <= self.clock.monotonic() + delay:
                return
            timer.cancel()
        self.timers[key] = self.clock.call_later(delay, lambda: self._due(key))

    def _due(self, key: ObjectKey) -> None:
        self.timers.pop(key, None)
        self.add(key)

    def cancel_timers(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()


class Reactor:
    """Runs controllers: one watch task per watched resource and one worker per controller."""

    def __init__(self, store: Store, clock: Clock, tasks: TaskGroup) -> None:
        self._store = store
        self._clock = clock
        self._tasks = tasks

    def start(self, controller: Controller) -> None:
        queue = _Queue(self._clock)
        for watched in controller.watches():
            if watched.resource == EVERY_RESOURCE:
                self._tasks.spawn(f"{controller.name}/watch/*", self._feed_every(controller.name, watched, queue))
                continue
            name = f"{controller.name}/watch/{watched.resource}"
            self._tasks.spawn(name, self._feed(watched, queue))
        self._tasks.spawn(f"{controller.name}/worker", self._work(controller, queue))

    async def _resource_type(self, watched: Watched) -> ResourceType:
        """Wait until the resource is served (a CRD-defined kind appears when its CRD is stored)."""
        while True:
            rt = self._store.catalog.find(watched.group, watched.version, watched.resource)
            if rt is not None:
                return rt
            await self._clock.sleep(CATALOG_POLL_SECONDS)

    async def _feed(self, watched: Watched, queue: _Queue) -> None:
        rt = await self._resource_type(watched)
        await self._follow(rt, watched, queue)

    async def _feed_every(self, controller: str, watched: Watched, queue: _Queue) -> None:
        """Follow every watchable resource, starting a feed for each one a CRD adds later."""
        followed: set[ResourceKey] = set()
        while True:
            for rt in self._store.catalog:
                if rt.key not in followed and "watch" in rt.verbs:
                    followed.add(rt.key)
                    self._tasks.spawn(f"{controller}/watch/{rt.qualified}", self._follow(rt, watched, queue))
            await self._clock.sleep(CATALOG_POLL_SECONDS)

    async def _follow(self, rt: ResourceType, watched: Watched, queue: _Queue) -> None:
        async for event in tasks.follow(lambda: self._store.watch(rt), what=rt.qualified):
            for key in watched.mapper(event):
                queue.add(key)

    async def _work(self, controller: Controller, queue: _Queue) -> None:
        try:
            while True:
                key = await queue.pending.get()
                queue.queued.discard(key)
                delay = await self._attempt(controller, key, queue)
                if delay is not None:
                    queue.add_later(key, delay)
        finally:
            queue.cancel_timers()

    async def _attempt(self, controller: Controller, key: ObjectKey, queue: _Queue) -> float | None:
        try:
            delay = await controller.reconcile(key)
        except NotFoundError:
            queue.failures.pop(key, None)
            return None
        except Exception as error:  # any failure is retried: a bug in one reconcile must not end the worker
            return self._backoff(controller, key, queue, error)
        queue.failures.pop(key, None)
        return delay

    def _backoff(self, controller: Controller, key: ObjectKey, queue: _Queue, error: Exception) -> float:
        count = queue.failures.get(key, 0) + 1
        queue.failures[key] = count
        if isinstance(error, ApiError):
            if not isinstance(error, ConflictError):
                log.warning("%s: reconcile of %s failed (attempt %d): %s", controller.name, key, count, error.message)
        else:
            log.error("%s: reconcile of %s crashed (attempt %d)", controller.name, key, count, exc_info=error)
        return min(MAX_BACKOFF_SECONDS, 0.05 * 2.0**count)


def is_being_deleted(body: Body) -> bool:
    return bool(body.get("metadata", {}).get("deletionTimestamp"))
