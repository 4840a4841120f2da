"""The garbage collector through a real store: background, foreground and orphan deletion, and stale owners.

Owners and dependents are plain objects linked by ownerReferences; the kubelet's part in pod
deletion is played by the test. The collector finds kinds that CRDs add when it next polls the
catalog, which happens when the test advances the fake clock.
"""

from __future__ import annotations

from kfval.embedded.controllers.garbagecollector import GarbageCollectorController
from kfval.embedded.controllers.reactor import CATALOG_POLL_SECONDS
from kfval.embedded.types import Body
from tests.support.cluster import WIDGETS_CRD, Harness, owner_ref, running
from tests.support.loop import on_loop
from tests.support.polling import eventually


def make_chain(h: Harness, *, bound_pod: bool = False) -> tuple[Body, Body, Body]:
    """deployment -> replicaset -> pod as plain objects linked by ownerReferences."""
    h.make_namespace("gc")
    deploy = h.store.create(h.deployments, {"metadata": {"name": "web"}}, namespace="gc")
    rs_body = {"metadata": {"name": "web-1", "ownerReferences": [owner_ref(deploy)]}}
    rs = h.store.create(h.replicasets, rs_body, namespace="gc")
    pod_body: Body = {"metadata": {"name": "web-1-a", "ownerReferences": [owner_ref(rs)]}}
    if bound_pod:
        pod_body |= {"spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
    pod = h.store.create(h.pods, pod_body, namespace="gc")
    return deploy, rs, pod


@on_loop
async def test_background_deletion_collects_the_whole_chain() -> None:
    async with running(GarbageCollectorController) as h:
        make_chain(h)
        await h.settle()  # the collector has seen the chain
        h.store.delete(h.deployments, "gc", "web", propagation="Background")
        await eventually(lambda: h.gone(h.replicasets, "gc", "web-1"), "replicaset")
        await eventually(lambda: h.gone(h.pods, "gc", "web-1-a"), "pod")


@on_loop
async def test_foreground_deletion_waits_for_blocking_dependents() -> None:
    async with running(GarbageCollectorController) as h:
        make_chain(h, bound_pod=True)
        await h.settle()
        h.store.delete(h.deployments, "gc", "web", propagation="Foreground")
        await eventually(lambda: h.store.get(h.pods, "gc", "web-1-a")["metadata"].get("deletionTimestamp"), "grace")
        await h.settle()
        deploy, rs = h.store.get(h.deployments, "gc", "web"), h.store.get(h.replicasets, "gc", "web-1")
        assert deploy["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert rs["metadata"]["finalizers"] == ["foregroundDeletion"]
        h.store.delete(h.pods, "gc", "web-1-a", grace_period_seconds=0)
        await eventually(lambda: h.gone(h.replicasets, "gc", "web-1"), "replicaset")
        await eventually(lambda: h.gone(h.deployments, "gc", "web"), "deployment")


@on_loop
async def test_orphan_deletion_keeps_dependents_without_the_reference() -> None:
    async with running(GarbageCollectorController) as h:
        _, rs, _ = make_chain(h)
        await h.settle()
        h.store.delete(h.deployments, "gc", "web", propagation="Orphan")
        await eventually(lambda: h.gone(h.deployments, "gc", "web"), "deployment")
        await h.settle()
        assert "ownerReferences" not in h.store.get(h.replicasets, "gc", "web-1")["metadata"]
        pod = h.store.get(h.pods, "gc", "web-1-a")
        assert [r["uid"] for r in pod["metadata"]["ownerReferences"]] == [rs["metadata"]["uid"]]


@on_loop
async def test_dependent_of_an_owner_with_another_uid_is_collected() -> None:
    async with running(GarbageCollectorController) as h:
        configmaps = h.rt("configmaps")
        h.make_namespace("gc")
        owner = h.store.create(configmaps, {"metadata": {"name": "owner"}}, namespace="gc")
        stale = {**owner_ref(owner), "uid": "not-the-owner"}
        h.store.create(configmaps, {"metadata": {"name": "stale", "ownerReferences": [stale]}}, namespace="gc")
        kept = {"metadata": {"name": "kept", "ownerReferences": [owner_ref(owner)]}}
        h.store.create(configmaps, kept, namespace="gc")
        await eventually(lambda: h.gone(configmaps, "gc", "stale"), "stale dependent collected")
        assert h.store.exists(configmaps, "gc", "kept")


@on_loop
async def test_custom_resources_defined_later_are_collected_too() -> None:
    async with running(GarbageCollectorController) as h:
        configmaps = h.rt("configmaps")
        h.make_namespace("gc")
        await h.settle()
        h.store.create(h.rt("customresourcedefinitions", "apiextensions.k8s.io/v1"), WIDGETS_CRD)
        await h.advance(CATALOG_POLL_SECONDS)  # the collector discovers the new type
        widgets = h.rt("widgets", "example.com/v1")
        owner = h.store.create(configmaps, {"metadata": {"name": "owner"}}, namespace="gc")
        dependent = {"metadata": {"name": "w", "ownerReferences": [owner_ref(owner)]}}
        h.store.create(widgets, dependent, namespace="gc")
        await h.settle()
        h.store.delete(configmaps, "gc", "owner")
        await eventually(lambda: h.gone(widgets, "gc", "w"), "custom resource collected")
