"""The namespace controller through a real store: a deleted namespace is emptied, then removed.

The kubelet's part in pod deletion is played by the test; the controller's rechecks of what is
left happen when the test advances the fake clock.
"""

from __future__ import annotations

from kfval.embedded.controllers.namespace import CONTENT_RECHECK_SECONDS, NamespaceController
from tests.support.cluster import WIDGETS_CRD, running
from tests.support.loop import on_loop
from tests.support.polling import eventually


@on_loop
async def test_namespace_deletion_removes_content_then_the_namespace() -> None:
    async with running(NamespaceController) as h:
        store = h.store
        namespaces, pods, configmaps = h.rt("namespaces"), h.pods, h.rt("configmaps")
        store.create(h.rt("customresourcedefinitions", "apiextensions.k8s.io/v1"), WIDGETS_CRD)
        h.make_namespace("team")
        widgets = h.rt("widgets", "example.com/v1")
        store.create(widgets, {"metadata": {"name": "w"}}, namespace="team")
        store.create(configmaps, {"metadata": {"name": "plain"}}, namespace="team")
        held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
        store.create(configmaps, held, namespace="team")
        running_pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
        store.create(pods, running_pod, namespace="team")
        watch = store.watch(namespaces, since=store.resource_version)

        store.delete(namespaces, None, "team")
        pod = await eventually(lambda: store.get(pods, "team", "p")["metadata"].get("deletionTimestamp"), "pod grace")
        assert pod
        await eventually(lambda: h.gone(widgets, "team", "w"), "custom resource deleted")
        await eventually(lambda: h.gone(configmaps, "team", "plain"), "configmap deleted")
        assert store.exists(namespaces, None, "team"), "the namespace must wait for its pod"
        store.delete(pods, "team", "p", grace_period_seconds=0)  # the kubelet finishing the pod
        await h.advance(CONTENT_RECHECK_SECONDS)

        def finalizers_remain() -> bool:
            conditions = store.get(namespaces, None, "team")["status"].get("conditions") or []
            return any(c["type"] == "NamespaceFinalizersRemaining" and c["status"] == "True" for c in conditions)

        await eventually(finalizers_remain, "NamespaceFinalizersRemaining=True")
        cm = store.get(configmaps, "team", "held")
        cm["metadata"]["finalizers"] = []
        store.replace(configmaps, cm)
        await h.advance(CONTENT_RECHECK_SECONDS)
        await eventually(lambda: h.gone(namespaces, None, "team"), "namespace removed")
        events = []
        while watch.pending():
            events.append(await watch.__anext__())
        watch.close()
        assert events[-1].type == "DELETED"
        assert events[-1].object["metadata"]["name"] == "team"


@on_loop
async def test_a_terminating_namespace_is_removed_when_its_last_pod_goes_without_waiting_for_a_recheck() -> None:
    async with running(NamespaceController) as h:
        store, namespaces, pods = h.store, h.rt("namespaces"), h.pods
        h.make_namespace("quick")
        running_pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
        store.create(pods, running_pod, namespace="quick")
        store.delete(namespaces, None, "quick")
        await eventually(lambda: store.get(pods, "quick", "p")["metadata"].get("deletionTimestamp"), "pod grace")
        store.delete(pods, "quick", "p", grace_period_seconds=0)  # the kubelet finishing the pod; no clock advance
        await eventually(lambda: h.gone(namespaces, None, "quick"), "namespace removed on the pod's deletion")
