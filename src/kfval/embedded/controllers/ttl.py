"""The TTL-after-finished controller: deletes finished Jobs once `ttlSecondsAfterFinished` has passed.

Upstream runs this as its own controller (ttl-after-finished-controller), separate from the Job
controller; it deletes with Background propagation so the garbage collector removes the pods.
"""

from __future__ import annotations

from collections.abc import Sequence

from kfval.embedded.clock import Clock, parse_rfc3339
from kfval.embedded.controllers.reactor import Watched, is_being_deleted
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey

COMPONENT = "ttl-after-finished-controller"


def finished_at(job: Body) -> str | None:
    """When the Job finished: the transition time of its Complete or Failed condition."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition.get("lastTransitionTime") or (job.get("status") or {}).get("completionTime") or "")
    return None


class TTLAfterFinishedController:
    """Watches Jobs; a finished Job with a TTL is deleted when it expires, or looked at again then."""

    name = COMPONENT

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._jobs = store.catalog.lookup("batch", "v1", "jobs")

    def watches(self) -> Sequence[Watched]:
        return [Watched("batch", "v1", "jobs")]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            job = self._store.get(self._jobs, key.namespace, key.name)
        except NotFoundError:
            return None
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        finished = finished_at(job)
        if ttl is None or not finished or is_being_deleted(job):
            return None
        remaining = int(ttl) - (self._clock.now() - parse_rfc3339(finished)).total_seconds()
        if remaining > 0:
            return remaining
        preconditions = {"uid": job["metadata"]["uid"]}
        self._store.delete(self._jobs, key.namespace, key.name, propagation="Background", preconditions=preconditions)
        return None
