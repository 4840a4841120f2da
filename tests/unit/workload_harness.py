"""A small embedded cluster for the workload controller tests: a real store, a real reactor, and a hand-played kubelet.

The controllers only ever see pod status through the store, so the tests write it there exactly as
the kubelet would (phase, Ready condition, restart counts) and poll the store for the outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from kfval.embedded.clock import SystemClock, rfc3339
from kfval.embedded.controllers.reactor import Controller, Reactor
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body

NAMESPACE = "demo"
WAIT_SECONDS = 2.0


class Cluster:
    """The store plus shortcuts for the resources the tests touch."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = store.clock
        lookup = store.catalog.lookup
        self.pods = lookup("", "v1", "pods")
        self.pvcs = lookup("", "v1", "persistentvolumeclaims")
        self.events = lookup("", "v1", "events")
        self.deployments = lookup("apps", "v1", "deployments")
        self.replicasets = lookup("apps", "v1", "replicasets")
        self.statefulsets = lookup("apps", "v1", "statefulsets")
        self.revisions = lookup("apps", "v1", "controllerrevisions")
        self.jobs = lookup("batch", "v1", "jobs")

    def list(self, rt: Any, predicate: Callable[[Body], bool] | None = None) -> list[Body]:
        items, _ = self.store.list(rt, NAMESPACE, predicate)
        return items

    def live_pods(self) -> list[Body]:
        return self.list(self.pods, lambda p: not p["metadata"].get("deletionTimestamp"))

    def reasons(self) -> list[tuple[str, str]]:
        return [(e["reason"], e["message"]) for e in self.list(self.events)]

    def set_pod_status(self, pod: Body, phase: str, *, ready: bool = False, restarts: int = 0, ago: float = 0) -> None:
        """Play the kubelet: write the phase, the Ready condition and one container status."""
        fresh = self.store.get(self.pods, NAMESPACE, pod["metadata"]["name"])
        when = rfc3339(self.clock.now() - timedelta(seconds=ago))
        fresh["status"] = {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": when}],
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": restarts}],
        }
        self.store.replace(self.pods, fresh, subresource="status")

    def make_ready(self, predicate: Callable[[Body], bool] = lambda p: True) -> int:
        count = 0
        for pod in self.live_pods():
            if predicate(pod) and (pod.get("status") or {}).get("phase") != "Running":
                self.set_pod_status(pod, "Running", ready=True)
                count += 1
        return count

    async def wait(self, check: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
        """Poll until `check()` returns something truthy; fail with the last value otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        value = check()
        while not value:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting; last value: {value!r}")
            await asyncio.sleep(0.01)
            value = check()
        return value

    async def settle(self, seconds: float = 0.1) -> None:
        await asyncio.sleep(seconds)


@asynccontextmanager
async def running(*factories: Callable[[Store, Any], Controller]) -> AsyncIterator[Cluster]:
    store = Store(Catalog(), SystemClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NAMESPACE}})
    tasks = TaskGroup()
    reactor = Reactor(store, store.clock, tasks)
    for factory in factories:
        reactor.start(factory(store, store.clock))
    try:
        yield Cluster(store)
    finally:
        await tasks.close()
    assert tasks.crash is None, tasks.crash


def pod_template(labels: dict[str, str], image: str = "demo:1", restart_policy: str = "Always") -> Body:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"restartPolicy": restart_policy, "containers": [{"name": "main", "image": image}]},
    }
