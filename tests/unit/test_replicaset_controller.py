"""ReplicaSets against a real store: replacing failed pods, which pods go first, minReadySeconds."""

from __future__ import annotations

from kfval.embedded.controllers import podtemplates
from kfval.embedded.controllers.replicaset import ReplicaSetController, deletion_order
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, pod_template, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

LABELS = {"app": "web"}


@on_loop
async def test_replicaset_replaces_failed_pods_and_deletes_not_ready_first() -> None:
    async with running(ReplicaSetController) as c:
        rs: Body = {
            "metadata": {"name": "solo", "namespace": NAMESPACE},
            "spec": {"replicas": 2, "selector": {"matchLabels": LABELS}, "template": pod_template(LABELS)},
        }
        c.store.create(c.replicasets, rs)
        pods = await eventually(lambda: len(c.live_pods()) == 2 and c.live_pods(), "two pods")
        c.set_pod_status(pods[0], "Failed")
        c.set_pod_status(pods[1], "Running", ready=True)
        await eventually(lambda: len([p for p in c.live_pods() if podtemplates.is_active(p)]) == 2, "two active pods")
        current = c.store.get(c.replicasets, NAMESPACE, "solo")
        current["spec"]["replicas"] = 1
        c.store.replace(c.replicasets, current)
        await eventually(lambda: len([p for p in c.live_pods() if podtemplates.is_active(p)]) == 1, "one active pod")
        (survivor,) = [p for p in c.live_pods() if podtemplates.is_active(p)]
        assert survivor["metadata"]["name"] == pods[1]["metadata"]["name"]
        await eventually(
            lambda: c.store.get(c.replicasets, NAMESPACE, "solo")["status"].get("readyReplicas") == 1, "readyReplicas 1"
        )
        assert any(r == "SuccessfulDelete" for r, _ in c.reasons())


@on_loop
async def test_replicaset_honours_min_ready_seconds() -> None:
    async with running(ReplicaSetController) as c:
        rs: Body = {
            "metadata": {"name": "slow", "namespace": NAMESPACE},
            "spec": {
                "replicas": 1,
                "minReadySeconds": 1,
                "selector": {"matchLabels": LABELS},
                "template": pod_template(LABELS),
            },
        }
        c.store.create(c.replicasets, rs)
        (pod,) = await eventually(c.live_pods, "the replicaset's pod")
        c.set_pod_status(pod, "Running", ready=True)
        status = await eventually(
            lambda: c.store.get(c.replicasets, NAMESPACE, "slow")["status"].get("readyReplicas"), "readyReplicas"
        )
        assert status == 1
        assert "availableReplicas" not in c.store.get(c.replicasets, NAMESPACE, "slow")["status"]
        await c.advance(1.0)  # minReadySeconds
        await eventually(
            lambda: c.store.get(c.replicasets, NAMESPACE, "slow")["status"].get("availableReplicas") == 1,
            "availableReplicas 1",
        )


def test_deletion_order_prefers_unscheduled_then_not_ready_then_newest() -> None:
    def pod(name: str, *, node: str = "", phase: str = "Running", ready: bool = True, created: str) -> Body:
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conditions},
        }

    pods = [
        pod("old-ready", node="n", created="2024-01-01T00:00:00Z"),
        pod("new-ready", node="n", created="2024-01-02T00:00:00Z"),
        pod("not-ready", node="n", ready=False, created="2024-01-01T00:00:00Z"),
        pod("unscheduled", phase="Pending", ready=False, created="2024-01-01T00:00:00Z"),
    ]
    assert [p["metadata"]["name"] for p in deletion_order(pods)] == [
        "unscheduled",
        "not-ready",
        "new-ready",
        "old-ready",
    ]
