"""Named, guarded asyncio tasks.

A controller loop that dies silently leaves a cluster that looks alive but never reconciles.
Every long-lived task of the cluster is started here: it is named, its crash is logged with the
name, and the first crash is kept so the runner can re-raise it when the cluster stops
(the same discipline as kopf's `aiotasks`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

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
