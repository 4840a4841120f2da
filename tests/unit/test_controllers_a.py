"""The namespace, garbage-collector, serviceaccount and apiextensions controllers, driven through a real store.

Each test runs real controllers under a real Reactor against a real Store and waits (bounded) for
the state a real cluster would reach; the kubelet's part in pod deletion is played by the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kfval.embedded.clock import Clock, SystemClock
from kfval.embedded.controllers.crd import CLEANUP_FINALIZER, CrdController
from kfval.embedded.controllers.garbagecollector import GarbageCollectorController
from kfval.embedded.controllers.namespace import NamespaceController
from kfval.embedded.controllers.reactor import Controller, Reactor
from kfval.embedded.controllers.serviceaccount import ServiceAccountController
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.tasks import TaskGroup
from kfval.embedded.types import Body, ResourceType

WAIT_SECONDS = 2.0
Factory = Callable[[Store, Clock], Controller]
Scenario = Callable[[Store], Awaitable[None]]


def run(scenario: Scenario, *factories: Factory) -> None:
    """Run `scenario` against a fresh store with the given controllers started."""

    async def main() -> None:
        clock = SystemClock()
        store = Store(Catalog(), clock)
        store.register_catalog_hook()
        tasks = TaskGroup()
        reactor = Reactor(store, clock, tasks)
        for factory in factories:
            reactor.start(factory(store, clock))
        try:
            await scenario(store)
        finally:
            await tasks.close()
        assert tasks.crash is None

    asyncio.run(main())


async def eventually(probe: Callable[[], Any], what: str) -> Any:
    """Poll `probe` until it returns something truthy; fail after WAIT_SECONDS saying what was awaited."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            value = probe()
        except NotFoundError:
            value = None
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.02)


def rt(store: Store, resource: str, api_version: str = "v1") -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return store.catalog.lookup(group, version, resource)


def make_namespace(store: Store, name: str) -> Body:
    body = {"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    return store.create(rt(store, "namespaces"), body)


def gone(store: Store, resource: ResourceType, namespace: str | None, name: str) -> bool:
    return not store.exists(resource, namespace, name)


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


def owner_ref(owner: Body) -> Body:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


# -- namespace-controller ---------------------------------------------------------------------------


def test_namespace_deletion_removes_content_then_the_namespace() -> None:
    async def scenario(store: Store) -> None:
        namespaces, pods, configmaps = rt(store, "namespaces"), rt(store, "pods"), rt(store, "configmaps")
        store.create(rt(store, "customresourcedefinitions", "apiextensions.k8s.io/v1"), WIDGETS_CRD)
        make_namespace(store, "team")
        widgets = rt(store, "widgets", "example.com/v1")
        store.create(widgets, {"metadata": {"name": "w"}}, namespace="team")
        store.create(configmaps, {"metadata": {"name": "plain"}}, namespace="team")
        held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
        store.create(configmaps, held, namespace="team")
        running = {"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
        store.create(pods, running, namespace="team")
        watch = store.watch(namespaces, since=store.resource_version)

        store.delete(namespaces, None, "team")
        pod = await eventually(lambda: store.get(pods, "team", "p")["metadata"].get("deletionTimestamp"), "pod grace")
        assert pod
        await eventually(lambda: gone(store, widgets, "team", "w"), "custom resource deleted")
        await eventually(lambda: gone(store, configmaps, "team", "plain"), "configmap deleted")
        assert store.exists(namespaces, None, "team"), "the namespace must wait for its pod"
        store.delete(pods, "team", "p", grace_period_seconds=0)  # the kubelet finishing the pod

        def finalizers_remain() -> bool:
            conditions = store.get(namespaces, None, "team")["status"].get("conditions") or []
            return any(c["type"] == "NamespaceFinalizersRemaining" and c["status"] == "True" for c in conditions)

        await eventually(finalizers_remain, "NamespaceFinalizersRemaining=True")
        cm = store.get(configmaps, "team", "held")
        cm["metadata"]["finalizers"] = []
        store.replace(configmaps, cm)
        await eventually(lambda: gone(store, namespaces, None, "team"), "namespace removed")
        events = []
        while watch.pending():
            events.append(await watch.__anext__())
        watch.close()
        assert events[-1].type == "DELETED"
        assert events[-1].object["metadata"]["name"] == "team"

    run(scenario, NamespaceController)


# -- garbage-collector-controller -------------------------------------------------------------------


def make_chain(store: Store, *, bound_pod: bool = False) -> tuple[Body, Body, Body]:
    """deployment -> replicaset -> pod as plain objects linked by ownerReferences."""
    make_namespace(store, "gc")
    deploy = store.create(rt(store, "deployments", "apps/v1"), {"metadata": {"name": "web"}}, namespace="gc")
    rs_body = {"metadata": {"name": "web-1", "ownerReferences": [owner_ref(deploy)]}}
    rs = store.create(rt(store, "replicasets", "apps/v1"), rs_body, namespace="gc")
    pod_body: Body = {"metadata": {"name": "web-1-a", "ownerReferences": [owner_ref(rs)]}}
    if bound_pod:
        pod_body |= {"spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
    pod = store.create(rt(store, "pods"), pod_body, namespace="gc")
    return deploy, rs, pod


def test_background_deletion_collects_the_whole_chain() -> None:
    async def scenario(store: Store) -> None:
        make_chain(store)
        await asyncio.sleep(0.1)
        store.delete(rt(store, "deployments", "apps/v1"), "gc", "web", propagation="Background")
        await eventually(lambda: gone(store, rt(store, "replicasets", "apps/v1"), "gc", "web-1"), "replicaset")
        await eventually(lambda: gone(store, rt(store, "pods"), "gc", "web-1-a"), "pod")

    run(scenario, GarbageCollectorController)


def test_foreground_deletion_waits_for_blocking_dependents() -> None:
    async def scenario(store: Store) -> None:
        deployments, replicasets, pods = (
            rt(store, "deployments", "apps/v1"),
            rt(store, "replicasets", "apps/v1"),
            rt(store, "pods"),
        )
        make_chain(store, bound_pod=True)
        await asyncio.sleep(0.1)
        store.delete(deployments, "gc", "web", propagation="Foreground")
        await eventually(lambda: store.get(pods, "gc", "web-1-a")["metadata"].get("deletionTimestamp"), "pod grace")
        await asyncio.sleep(0.1)
        deploy, rs = store.get(deployments, "gc", "web"), store.get(replicasets, "gc", "web-1")
        assert deploy["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert rs["metadata"]["finalizers"] == ["foregroundDeletion"]
        store.delete(pods, "gc", "web-1-a", grace_period_seconds=0)
        await eventually(lambda: gone(store, replicasets, "gc", "web-1"), "replicaset")
        await eventually(lambda: gone(store, deployments, "gc", "web"), "deployment")

    run(scenario, GarbageCollectorController)


def test_orphan_deletion_keeps_dependents_without_the_reference() -> None:
    async def scenario(store: Store) -> None:
        deployments, replicasets, pods = (
            rt(store, "deployments", "apps/v1"),
            rt(store, "replicasets", "apps/v1"),
            rt(store, "pods"),
        )
        _, rs, _ = make_chain(store)
        await asyncio.sleep(0.1)
        store.delete(deployments, "gc", "web", propagation="Orphan")
        await eventually(lambda: gone(store, deployments, "gc", "web"), "deployment")
        await asyncio.sleep(0.2)
        assert "ownerReferences" not in store.get(replicasets, "gc", "web-1")["metadata"]
        pod = store.get(pods, "gc", "web-1-a")
        assert [r["uid"] for r in pod["metadata"]["ownerReferences"]] == [rs["metadata"]["uid"]]

    run(scenario, GarbageCollectorController)


def test_dependent_of_an_owner_with_another_uid_is_collected() -> None:
    async def scenario(store: Store) -> None:
        configmaps = rt(store, "configmaps")
        make_namespace(store, "gc")
        owner = store.create(configmaps, {"metadata": {"name": "owner"}}, namespace="gc")
        stale = {**owner_ref(owner), "uid": "not-the-owner"}
        store.create(configmaps, {"metadata": {"name": "stale", "ownerReferences": [stale]}}, namespace="gc")
        store.create(configmaps, {"metadata": {"name": "kept", "ownerReferences": [owner_ref(owner)]}}, namespace="gc")
        await eventually(lambda: gone(store, configmaps, "gc", "stale"), "stale dependent collected")
        assert store.exists(configmaps, "gc", "kept")

    run(scenario, GarbageCollectorController)


def test_custom_resources_defined_later_are_collected_too() -> None:
    async def scenario(store: Store) -> None:
        configmaps = rt(store, "configmaps")
        make_namespace(store, "gc")
        await asyncio.sleep(0.1)
        store.create(rt(store, "customresourcedefinitions", "apiextensions.k8s.io/v1"), WIDGETS_CRD)
        await asyncio.sleep(0.4)  # the collector discovers the new type
        widgets = rt(store, "widgets", "example.com/v1")
        owner = store.create(configmaps, {"metadata": {"name": "owner"}}, namespace="gc")
        store.create(widgets, {"metadata": {"name": "w", "ownerReferences": [owner_ref(owner)]}}, namespace="gc")
        await asyncio.sleep(0.1)
        store.delete(configmaps, "gc", "owner")
        await eventually(lambda: gone(store, widgets, "gc", "w"), "custom resource collected")

    run(scenario, GarbageCollectorController)


# -- serviceaccount-controller ----------------------------------------------------------------------


def test_every_namespace_has_a_default_service_account() -> None:
    async def scenario(store: Store) -> None:
        accounts = rt(store, "serviceaccounts")
        make_namespace(store, "team")
        await eventually(lambda: store.exists(accounts, "team", "default"), "default ServiceAccount")
        first = store.get(accounts, "team", "default")["metadata"]["uid"]
        store.delete(accounts, "team", "default")
        again = await eventually(lambda: store.get(accounts, "team", "default")["metadata"]["uid"], "re-created")
        assert again != first

    run(scenario, ServiceAccountController)


# -- apiextensions-controller -----------------------------------------------------------------------


def test_stored_crd_becomes_established() -> None:
    async def scenario(store: Store) -> None:
        crds = rt(store, "customresourcedefinitions", "apiextensions.k8s.io/v1")
        store.create(crds, WIDGETS_CRD)

        def established() -> Body | None:
            crd = store.get(crds, None, "widgets.example.com")
            conditions = {c["type"]: c for c in (crd.get("status") or {}).get("conditions") or []}
            return crd if conditions.get("Established", {}).get("status") == "True" else None

        crd = await eventually(established, "Established=True")
        by_type = {c["type"]: c for c in crd["status"]["conditions"]}
        assert by_type["NamesAccepted"]["reason"] == "NoConflicts"
        assert by_type["NamesAccepted"]["message"] == "no conflicts found"
        assert by_type["Established"]["reason"] == "InitialNamesAccepted"
        assert by_type["Established"]["message"] == "the initial names have been accepted"
        names = crd["status"]["acceptedNames"]
        assert (names["kind"], names["listKind"], names["singular"], names["plural"]) == (
            "Widget",
            "WidgetList",
            "widget",
            "widgets",
        )
        assert crd["status"]["storedVersions"] == ["v1"]
        assert crd["metadata"]["finalizers"] == [CLEANUP_FINALIZER]

    run(scenario, CrdController)


def test_deleting_a_crd_removes_its_custom_resources_first() -> None:
    async def scenario(store: Store) -> None:
        crds = rt(store, "customresourcedefinitions", "apiextensions.k8s.io/v1")
        store.create(crds, WIDGETS_CRD)
        make_namespace(store, "team")
        widgets = rt(store, "widgets", "example.com/v1")
        store.create(widgets, {"metadata": {"name": "a"}}, namespace="team")
        held = {"metadata": {"name": "b", "finalizers": ["example.com/hold"]}}
        store.create(widgets, held, namespace="team")
        await eventually(
            lambda: (
                CLEANUP_FINALIZER
                in store.get(crds, None, WIDGETS_CRD["metadata"]["name"])["metadata"].get("finalizers", [])
            ),
            "finalizer",
        )
        store.delete(crds, None, "widgets.example.com")
        await eventually(lambda: gone(store, widgets, "team", "a"), "custom resource a deleted")
        await asyncio.sleep(0.1)
        assert store.exists(crds, None, "widgets.example.com"), "the CRD waits for its last custom resource"
        b = store.get(widgets, "team", "b")
        b["metadata"]["finalizers"] = []
        store.replace(widgets, b)
        await eventually(lambda: gone(store, crds, None, "widgets.example.com"), "CRD removed")
        assert store.catalog.find("example.com", "v1", "widgets") is None

    run(scenario, CrdController)
