"""Every pod a scenario's namespace held, deleted ones included, as last seen: a pod a scenario deletes and
the controller makes again (a notebook's restart) ran too, and a list at cleanup no longer shows it.

A thread follows the namespace's pods (list, then watch, re-listing when a watch ends) and keeps the
newest version of each pod by uid with the time it was seen. A pod is deleted once its containers have
ended, so the last version seen before its DELETED event carries their `finishedAt`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kfval.kube import watching
from kfval.kube.client import Connection
from kfval.kube.errors import KfvalError

FOLLOW_SPAN_SECONDS = 2.0
"""How long one watch request lasts: the thread sees that it was stopped within about this."""


class PodHistory:
    """Follows one namespace's pods on a thread of its own until stopped."""

    def __init__(self, conn: Connection, namespace: str) -> None:
        self._conn = conn
        self._namespace = namespace
        self._seen: dict[str, tuple[Mapping[str, Any], datetime]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pods {namespace}", daemon=True)
        self.problem: str | None = None
        """Why following the pods ended early (an API outage past its bound), None while it works."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the following; the thread finishes its current watch on its own (it is never waited for)."""
        self._stop.set()

    def gone(self, present: set[str]) -> list[tuple[Mapping[str, Any], datetime]]:
        """The pods seen whose uid is not in `present` (the uids listed now), each with when it was last seen."""
        with self._lock:
            return [seen for uid, seen in self._seen.items() if uid not in present]

    def _run(self) -> None:
        try:
            for pods in watching.follow(
                self._conn, "v1", "Pod", self._namespace, deadline=math.inf, span_seconds=FOLLOW_SPAN_SECONDS
            ):
                now = datetime.now(UTC)
                with self._lock:
                    for pod in pods.values():
                        self._seen[str(pod["metadata"].get("uid"))] = (pod, now)
                if self._stop.is_set():
                    return
        except KfvalError as error:
            self.problem = f"the pods of namespace {self._namespace} could not be followed: {error}"
