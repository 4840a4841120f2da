"""Named, guarded asyncio tasks, and watches that outlive a 410.

A controller loop that dies silently leaves a cluster that looks alive but never reconciles.
Every long-lived task of the cluster is started here: it is named, its crash is logged with the
name, and the first crash is kept so the runner can re-raise it when the cluster stops
(the same discipline as kopf's `aiotasks`).

The loops that follow the store (controllers, the kubelet, the hosts files) die the same way when
their watch falls too far behind and is closed with 410 Gone. `follow` is the one informer-style
answer they share: list and watch again, and report what vanished in between as DELETED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

from kfval.embedded.errors import GoneError
from kfval.embedded.types import WatchEvent

log = logging.getLogger(__name__)


class TaskGroup:
    """Owns the cluster's background tasks; `close` cancels them all and reports the first crash."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.crash: BaseException | None = None

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("task %s crashed", task.get_name(), exc_info=error)
            if self.crash is None:
                self.crash = error

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class WatchStream(Protocol):
    """An open store watch: ADDED for every existing object first (`initial_count` of them), then changes."""

    initial_count: int

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    def close(self) -> None: ...


_ObjectName = tuple[str, str]


def _name_of(event: WatchEvent) -> _ObjectName:
    meta = event.object["metadata"]
    return str(meta.get("namespace", "")), str(meta["name"])


async def follow(open_watch: Callable[[], WatchStream], *, what: str) -> AsyncIterator[WatchEvent]:
    """Every event of a watch that survives 410 Gone: on Gone it lists and watches again.

    After a re-watch, objects known before but absent from the new list are reported as DELETED
    (with their last known body), so a follower never keeps a ghost. Ends when the watch is closed.
    """
    known: dict[_ObjectName, WatchEvent] = {}
    resync = False
    while True:
        stream = open_watch()
        try:
            async for event in _events(stream, known, resync=resync):
                yield event
            return
        except GoneError:
            log.warning("watch of %s fell behind (410 Gone): listing and watching again", what)
            resync = True
        finally:
            stream.close()


async def _events(
    stream: WatchStream, known: dict[_ObjectName, WatchEvent], *, resync: bool
) -> AsyncIterator[WatchEvent]:
    """One open watch's events, keeping `known` current; after a resync, what vanished comes as DELETED."""
    listed: set[_ObjectName] | None = set() if resync else None
    remaining = stream.initial_count
    if listed is not None and remaining == 0:
        for vanished in _vanished(known, listed):
            yield vanished
        listed = None
    async for event in stream:
        name = _name_of(event)
        replaced = known.pop(name, None) if event.type == "DELETED" else known.get(name)
        if event.type != "DELETED":
            known[name] = event
            if replaced is not None and _uid(replaced) != _uid(event):  # deleted and created again meanwhile
                yield _deleted(replaced)
        yield event
        if listed is not None:
            listed.add(name)
            remaining -= 1
            if remaining <= 0:
                for vanished in _vanished(known, listed):
                    yield vanished
                listed = None


def _uid(event: WatchEvent) -> str:
    return str(event.object["metadata"].get("uid", ""))


def _deleted(last: WatchEvent) -> WatchEvent:
    return WatchEvent("DELETED", last.object, last.resource_version, last.key)


def _vanished(known: dict[_ObjectName, WatchEvent], listed: set[_ObjectName]) -> list[WatchEvent]:
    return [_deleted(known.pop(name)) for name in [name for name in known if name not in listed]]
