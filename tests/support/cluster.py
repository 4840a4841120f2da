"""The one in-process cluster of the unit tests: a real store, reactor and task group, chosen controllers.

Controller tests start the controllers under test and play every other part of a cluster (the
kubelet's status writes, the other controllers) through the store, as the real ones would; the
kubelet tests put a node with fake processes on top (support/kubelet.py). The clock is a
FakeClock unless a test passes another: requeues, deadlines, TTLs and back-offs happen when the
test advances it, and nothing else moves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import resources as package_files

import yaml

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers.reactor import Controller, Reactor
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body, ResourceType
from tests.support import polling
from tests.support.clock import FakeClock

NAMESPACE = "demo"
READING_STEP = timedelta(microseconds=1)
"""The harness's fake clock reads a microsecond later each time, so events named after the time differ."""
Factory = Callable[[Store, Clock], Controller]

WIDGETS_CRD: Body = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
        ],
    },
}
"""A small namespaced custom resource definition (served in two versions) for controller tests."""


class Harness:
    """The store, its clock and task group, and shortcuts for the resources the tests touch."""

    def __init__(self, store: Store, clock: Clock, tasks: TaskGroup, *, namespace: str) -> None:
        self.store = store
        self.clock = clock
        self.tasks = tasks
        self.namespace = namespace
        self.reactor = Reactor(store, clock, tasks)
        self.pods = self.rt("pods")
        self.pvcs = self.rt("persistentvolumeclaims")
        self.events = self.rt("events")
        self.services = self.rt("services")
        self.deployments = self.rt("deployments", "apps/v1")
        self.replicasets = self.rt("replicasets", "apps/v1")
        self.statefulsets = self.rt("statefulsets", "apps/v1")
        self.revisions = self.rt("controllerrevisions", "apps/v1")
        self.jobs = self.rt("jobs", "batch/v1")

    def rt(self, resource: str, api_version: str = "v1") -> ResourceType:
        group, _, version = api_version.rpartition("/")
        return self.store.catalog.lookup(group, version, resource)

    def start(self, *factories: Factory) -> None:
        for factory in factories:
            self.reactor.start(factory(self.store, self.clock))

    # -- time --------------------------------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        """Move the fake clock on by `seconds`, letting the cluster react to every timer on the way."""
        assert isinstance(self.clock, FakeClock), "only a fake clock is moved by hand"
        await self.clock.advance(seconds)

    async def settle(self) -> None:
        """Let the cluster do all it can without time passing."""
        await polling.settle()

    # -- reading -----------------------------------------------------------------------------------

    def list(self, rt: ResourceType, predicate: Callable[[Body], bool] | None = None) -> list[Body]:
        items, _ = self.store.list(rt, self.namespace, predicate)
        return items

    def live_pods(self) -> list[Body]:
        return self.list(self.pods, lambda p: not p["metadata"].get("deletionTimestamp"))

    def reasons(self) -> list[tuple[str, str]]:
        return [(e["reason"], e["message"]) for e in self.list(self.events)]

    def gone(self, rt: ResourceType, namespace: str | None, name: str) -> bool:
        return not self.store.exists(rt, namespace, name)

    # -- writing, as the rest of a cluster would ---------------------------------------------------

    def make_namespace(self, name: str) -> Body:
        """An Active namespace with the `kubernetes` finalizer, as the API server stores it."""
        body = {"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        return self.store.create(self.rt("namespaces"), body)

    def set_pod_status(self, pod: Body, phase: str, *, ready: bool = False, restarts: int = 0, ago: float = 0) -> None:
        """Play the kubelet: write the phase, the Ready condition and one container status."""
        fresh = self.store.get(self.pods, self.namespace, pod["metadata"]["name"])
        when = rfc3339(self.clock.now() - timedelta(seconds=ago))
        fresh["status"] = {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": when}],
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": restarts}],
        }
        self.store.replace(self.pods, fresh, subresource="status")

    def make_ready(self, predicate: Callable[[Body], bool] = lambda p: True) -> int:
        """Mark every live pod that is not Running yet (and matches) Running and Ready; how many."""
        count = 0
        for pod in self.live_pods():
            if predicate(pod) and (pod.get("status") or {}).get("phase") != "Running":
                self.set_pod_status(pod, "Running", ready=True)
                count += 1
        return count


@asynccontextmanager
async def running(
    *factories: Factory, clock: Clock | None = None, namespace: str = NAMESPACE
) -> AsyncIterator[Harness]:
    """A fresh store with `namespace` in it and the controllers of `factories` running on `clock` (a fake one).

    Everything started is stopped on the way out, and a crashed task fails the test.
    """
    clock = clock if clock is not None else FakeClock(step=READING_STEP)
    store = Store(Catalog(), clock)
    store.register_catalog_hook()
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": namespace}})
    tasks = TaskGroup()
    harness = Harness(store, clock, tasks, namespace=namespace)
    harness.start(*factories)
    try:
        yield harness
    finally:
        await tasks.close()
    assert tasks.crash is None, tasks.crash


def register_crds(store: Store) -> None:
    """Store the Kubeflow CRDs as the runner does; a store with its catalog hook then serves their kinds."""
    crds = store.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for entry in package_files.files("kfval.embedded").joinpath("crds").iterdir():
        if entry.name.endswith(".yaml"):
            store.create(crds, yaml.safe_load(entry.read_text()))


def pod_template(labels: dict[str, str], image: str = "demo:1", restart_policy: str = "Always") -> Body:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"restartPolicy": restart_policy, "containers": [{"name": "main", "image": image}]},
    }


def owner_ref(owner: Body) -> Body:
    """A controlling, deletion-blocking reference to `owner`."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
