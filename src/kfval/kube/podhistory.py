"""Every pod a scenario's namespace held, deleted ones included, and when each container ran, as seen.

A pod a scenario deletes and the controller makes again (a notebook's restart) ran too, and a list at
cleanup no longer shows it. A thread follows the namespace's pods (list, then watch, re-listing when a
watch ends) and keeps the newest version of each pod by uid with the time it was seen. It also times
each container run by when the change reached it: the API's `startedAt` and `finishedAt` have whole
seconds only, which on a scenario of a few seconds is an error of a tenth or more; a watch hears of a
change within milliseconds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kfval.kube import podtimes, watching
from kfval.kube.client import Connection
from kfval.kube.errors import KfvalError

FOLLOW_SPAN_SECONDS = 2.0
"""How long one watch request lasts: the thread sees that it was stopped within about this."""


Run = tuple[str, str, int]
"""A container run: the pod's uid, the container's name, its restart count."""


class PodHistory:
    """Follows one namespace's pods on a thread of its own until stopped."""

    def __init__(self, conn: Connection, namespace: str) -> None:
        self._conn = conn
        self._namespace = namespace
        self._seen: dict[str, tuple[Mapping[str, Any], datetime]] = {}
        self._runs: dict[Run, list[datetime | None]] = {}
        """Each container run's [start, end] as seen; end None while it runs."""
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

    def ran_seconds(self, now: datetime) -> float:
        """How long the pods' containers ran, overlapping runs once (those still running until `now`)."""
        with self._lock:
            spans = [(start, end or now) for start, end in self._runs.values() if start is not None]
        return podtimes.busy_seconds(spans)

    def _run(self) -> None:
        try:
            for pods in watching.follow(
                self._conn, "v1", "Pod", self._namespace, deadline=math.inf, span_seconds=FOLLOW_SPAN_SECONDS
            ):
                with self._lock:
                    self.observe(pods.values(), datetime.now(UTC))
                if self._stop.is_set():
                    return
        except KfvalError as error:
            self.problem = f"the pods of namespace {self._namespace} could not be followed: {error}"

    def observe(self, pods: Iterable[Mapping[str, Any]], now: datetime) -> None:
        """Fold in the namespace's pods as they were at `now` (the thread does, at every change it hears of)."""
        present = set()
        for pod in pods:
            uid = str(pod["metadata"].get("uid"))
            present.add(uid)
            self._seen[uid] = (pod, now)
            status = pod.get("status") or {}
            for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
                self._observe_container(uid, container, now)
        for (uid, _, _), times in self._runs.items():
            if uid not in present and times[1] is None:
                times[1] = now  # the pod was deleted while its container ran

    def _observe_container(self, uid: str, container: Mapping[str, Any], now: datetime) -> None:
        count = int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        run = (uid, str(container.get("name")), count)
        previous = self._runs.get((run[0], run[1], count - 1))
        if previous is not None and previous[1] is None and previous[0] is not None:
            # restarted: the last run ended when its status says, if that is after it was seen starting
            finished = podtimes.timestamp(
                ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            )
            previous[1] = min(now, max(previous[0], finished)) if finished is not None else now
        if "running" in state:
            self._runs.setdefault(run, [now, None])
        elif "terminated" in state:
            times = self._runs.get(run)
            if times is None:  # started and ended between two changes seen: the status's own times then
                ended = state["terminated"]
                self._runs[run] = [
                    podtimes.timestamp(ended.get("startedAt")),
                    podtimes.timestamp(ended.get("finishedAt")),
                ]
            elif times[1] is None:
                times[1] = now
