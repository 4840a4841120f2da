"""The ReplicaSet controller: keeps `spec.replicas` pods alive and reports how many are ready.

Deployments never touch pods; they scale ReplicaSets and read their status. So the counts this
controller writes (replicas, readyReplicas, availableReplicas, observedGeneration) are what
`kubectl rollout status`, Helm's waiters and kstatus ultimately judge a Deployment by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kfval.embedded.clock import Clock
from kfval.embedded.controllers import podtemplates
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.naming import generate_suffix
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey

COMPONENT = "replicaset-controller"
BURST_REPLICAS = 500
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: Sequence[Body]) -> list[Body]:
    """Pods in the order upstream gives them up: unscheduled, pending, not ready, newest first."""
    newest_first = sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
    return sorted(
        newest_first,
        key=lambda p: (
            bool((p.get("spec") or {}).get("nodeName")),
            _PHASE_RANK.get((p.get("status") or {}).get("phase", "Pending"), 0),
            podtemplates.is_ready(p),
        ),
    )


class ReplicaSetController:
    """Creates and deletes a ReplicaSet's pods and computes its status from theirs."""

    name = COMPONENT

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._recorder = Recorder(store, clock, COMPONENT)
        self._replicasets = store.catalog.lookup("apps", "v1", "replicasets")
        self._pods = store.catalog.lookup("", "v1", "pods")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("apps", "v1", "replicasets"),
            Watched("", "v1", "pods", owner_keys(ResourceKey("apps", "replicasets"), "ReplicaSet")),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            rs = self._store.get(self._replicasets, key.namespace, key.name)
        except NotFoundError:
            return None
        pods = self._owned_pods(rs)
        if not is_being_deleted(rs):
            self._manage(rs, [p for p in pods if podtemplates.is_active(p)])
            pods = self._owned_pods(rs)
        return self._update_status(rs, pods)

    def _owned_pods(self, rs: Body) -> list[Body]:
        pods, _ = self._store.list(
            self._pods,
            rs["metadata"]["namespace"],
            lambda p: podtemplates.is_controlled_by(p, rs) and podtemplates.selects(rs, p),
        )
        return pods

    def _manage(self, rs: Body, active: list[Body]) -> None:
        wanted = int((rs.get("spec") or {}).get("replicas", 1))
        diff = wanted - len(active)
        if diff > 0:
            for _ in range(min(diff, BURST_REPLICAS)):
                self._create_pod(rs)
        elif diff < 0:
            for pod in deletion_order(active)[: min(-diff, BURST_REPLICAS)]:
                self._delete_pod(rs, pod)

    def _create_pod(self, rs: Body) -> None:
        name = f"{rs['metadata']['name']}-{generate_suffix()}"
        while self._store.exists(self._pods, rs["metadata"]["namespace"], name):
            name = f"{rs['metadata']['name']}-{generate_suffix()}"
        pod = podtemplates.pod_from_template(rs["spec"].get("template") or {}, rs, name=name)
        pod["metadata"]["generateName"] = f"{rs['metadata']['name']}-"
        self._store.create(self._pods, pod)
        self._recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}")

    def _delete_pod(self, rs: Body, pod: Body) -> None:
        name = pod["metadata"]["name"]
        try:
            self._store.delete(self._pods, pod["metadata"]["namespace"], name)
        except NotFoundError:
            return
        self._recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    def _update_status(self, rs: Body, pods: list[Body]) -> float | None:
        """Write the counts; ask to come back when a Ready pod will pass minReadySeconds."""
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds", 0))
        now = self._clock.now()
        active = [p for p in pods if podtemplates.is_active(p)]
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        waits = [podtemplates.seconds_until_available(p, min_ready, now) for p in active]
        status: dict[str, Any] = dict(rs.get("status") or {})
        status.update(
            {
                "replicas": len(active),
                "fullyLabeledReplicas": sum(1 for p in active if _has_labels(p, template_labels)),
                "readyReplicas": sum(1 for p in active if podtemplates.is_ready(p)),
                "availableReplicas": sum(1 for w in waits if w == 0.0),
                "observedGeneration": rs["metadata"].get("generation", 1),
            }
        )
        status = podtemplates.omit_zero(status, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
        if status != rs.get("status"):
            self._store.replace(self._replicasets, {**rs, "status": status}, subresource="status")
        pending = [w for w in waits if w]
        return min(pending) if pending else None


def _has_labels(pod: Body, labels: dict[str, str]) -> bool:
    pod_labels = pod["metadata"].get("labels") or {}
    return all(pod_labels.get(k) == v for k, v in labels.items())
