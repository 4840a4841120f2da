"""Events for what the controllers do, so `kubectl describe` and kfval's evidence can show them.

Repeated events are folded into one object with a growing `count`, as the real event recorder does,
so a crash-looping pod does not flood the store.
"""

from __future__ import annotations

import hashlib

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.errors import ForbiddenError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body


class Recorder:
    """Writes core/v1 Events on behalf of one component (`source.component`)."""

    def __init__(self, store: Store, clock: Clock, component: str, host: str = "") -> None:
        self._store = store
        self._clock = clock
        self._component = component
        self._host = host
        self._events = store.catalog.lookup("", "v1", "events")

    def event(self, involved: Body, type_: str, reason: str, message: str, *, field_path: str = "") -> None:
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        digest = hashlib.sha1(f"{meta.get('uid')}|{reason}|{message}|{field_path}".encode()).hexdigest()[:16]
        name = f"{meta['name']}.{digest}"
        now = rfc3339(self._clock.now())
        try:
            existing = self._store.get(self._events, namespace, name)
        except NotFoundError:
            existing = None
        if existing is not None:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = now
            self._store.replace(self._events, existing, namespace=namespace)
            return
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
        body: Body = {
            "metadata": {"name": name, "namespace": namespace},
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
        try:
            self._store.create(self._events, body, namespace=namespace)
        except (NotFoundError, ForbiddenError):
            # The namespace is gone or terminating: the real recorder drops such events too.
            return
