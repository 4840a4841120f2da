"""The global resourceVersion and a bounded window of past events.

A watch from resourceVersion N replays what happened after N from this window; a version older
than the window answers 410 Expired, which is what makes clients re-list (and what kfval's own
waits and client-go's reflectors are built to survive).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from kfval.embedded.errors import GoneError
from kfval.embedded.types import WatchEvent

DEFAULT_WINDOW_EVENTS = 20_000


class History:
    """Hands out resourceVersions and remembers the most recent events."""

    def __init__(self, window: int = DEFAULT_WINDOW_EVENTS, *, start: int = 1000) -> None:
        self._events: deque[WatchEvent] = deque(maxlen=window)
        self.current = start
        self._oldest = start

    def next_version(self) -> int:
        self.current += 1
        return self.current

    def record(self, event: WatchEvent) -> None:
        if len(self._events) == self._events.maxlen:
            self._oldest = self._events[0].resource_version
        self._events.append(event)

    def since(self, version: int) -> Iterator[WatchEvent]:
        """Events after `version`; 410 when the window no longer reaches back that far."""
        if version < self._oldest:
            raise GoneError(f"too old resource version: {version} ({self._oldest + 1})")
        for event in self._events:
            if event.resource_version > version:
                yield event
