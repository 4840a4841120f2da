"""Events for what the controllers do, so `kubectl describe` and kfval's evidence can show them.

Names follow client-go's recorder, `<object name>.<unix nanoseconds in hex>`, so `kubectl get events`
(which sorts by name within a namespace) lists them in the order they happened. Repeated events are
folded into one object with a growing `count` and a fresh `lastTimestamp`, as the real event
correlator does, so a crash-looping pod does not flood the store; which event a repeat belongs to is
remembered in memory by its aggregation key (source, object, type, reason, message), as upstream's
correlator cache is.
"""

from __future__ import annotations

from dataclasses import dataclass

from kfval.embedded.clock import Clock, rfc3339, unix_nanos
from kfval.embedded.errors import AlreadyExistsError, ForbiddenError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

MAX_REMEMBERED_EVENTS = 4096
"""Upstream's correlator keeps an LRU of 4096 keys; older repeats start a new event."""


@dataclass(frozen=True)
class EventKey:
    """What makes two events "the same" for folding."""

    namespace: str
    uid: str
    type: str
    reason: str
    message: str
    field_path: str


class Recorder:
    """Writes core/v1 Events on behalf of one component (`source.component`)."""

    def __init__(self, store: Store, clock: Clock, component: str, host: str = "") -> None:
        self._store = store
        self._clock = clock
        self._component = component
        self._host = host
        self._events = store.catalog.lookup("", "v1", "events")
        self._names: dict[EventKey, str] = {}

    def event(self, involved: Body, type_: str, reason: str, message: str, *, field_path: str = "") -> None:
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        key = EventKey(namespace, str(meta.get("uid", "")), type_, reason, message, field_path)
        if self._fold(key):
            return
        body = self._new_event(involved, type_, reason, message, field_path=field_path)
        now = self._clock.now()
        nanos = unix_nanos(now)
        for attempt in range(8):  # two events in one microsecond get neighbouring names
            body["metadata"] = {"name": f"{meta['name']}.{nanos + attempt:x}", "namespace": namespace}
            try:
                created = self._store.create(self._events, body, namespace=namespace)
            except AlreadyExistsError:
                continue
            except (NotFoundError, ForbiddenError):
                return  # the namespace is gone or terminating: the real recorder drops such events too
            self._remember(key, created["metadata"]["name"])
            return

    def _fold(self, key: EventKey) -> bool:
        """Count a repeat on the event it repeats; False when there is none (any more)."""
        name = self._names.get(key)
        if name is None:
            return False
        try:
            existing = self._store.get(self._events, key.namespace, name)
        except NotFoundError:
            del self._names[key]
            return False
        existing["count"] = int(existing.get("count", 1)) + 1
        existing["lastTimestamp"] = rfc3339(self._clock.now())
        try:
            self._store.replace(self._events, existing, namespace=key.namespace)
        except (NotFoundError, ForbiddenError):
            return True
        return True

    def _remember(self, key: EventKey, name: str) -> None:
        if len(self._names) >= MAX_REMEMBERED_EVENTS:
            self._names.pop(next(iter(self._names)))
        self._names[key] = name

    def _new_event(self, involved: Body, type_: str, reason: str, message: str, *, field_path: str) -> Body:
        meta = involved["metadata"]
        involved_ref = {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            involved_ref["fieldPath"] = field_path
        now = rfc3339(self._clock.now())
        return {
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": self._component, **({"host": self._host} if self._host else {})},
            "reportingComponent": self._component,
            "reportingInstance": self._host,
        }
