"""The StatefulSet controller: pods with stable names, stable claims, created and removed in order.

Notebook servers and other stateful Kubeflow pieces are StatefulSets; their pods must come back
under the same name with the same PersistentVolumeClaims, and Helm's legacy waiter and
`kubectl rollout status` judge them by the counters and revisions written here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from kfval.embedded.clock import Clock
from kfval.embedded.controllers import podtemplates
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import ApiError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey

COMPONENT = "statefulset-controller"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"


def ordinal_of(sts: Body, pod: Body) -> int | None:
    """The ordinal in `<sts>-<ordinal>`, or None for a pod that is not one of the set's."""
    prefix = f"{sts['metadata']['name']}-"
    name = pod["metadata"]["name"]
    suffix = name[len(prefix) :]
    return int(suffix) if name.startswith(prefix) and suffix.isdigit() else None


def revision_of(pod: Body) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def claim_name(template: Body, sts: Body, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"


class StatefulSetController:
    """Creates `<sts>-0..n-1` (OrderedReady or Parallel), their claims, and the set's status."""

    name = COMPONENT

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._recorder = Recorder(store, clock, COMPONENT)
        self._statefulsets = store.catalog.lookup("apps", "v1", "statefulsets")
        self._revisions = store.catalog.lookup("apps", "v1", "controllerrevisions")
        self._pods = store.catalog.lookup("", "v1", "pods")
        self._claims = store.catalog.lookup("", "v1", "persistentvolumeclaims")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("apps", "v1", "statefulsets"),
            Watched("", "v1", "pods", owner_keys(ResourceKey("apps", "statefulsets"), "StatefulSet")),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            sts = self._store.get(self._statefulsets, key.namespace, key.name)
        except NotFoundError:
            return None
        if is_being_deleted(sts):
            return None
        revision = self._ensure_revision(sts)
        self._manage(sts, self._pods_by_ordinal(sts), revision)
        return self._update_status(sts, self._pods_by_ordinal(sts), revision)

    def _pods_by_ordinal(self, sts: Body) -> dict[int, Body]:
        pods, _ = self._store.list(
            self._pods, sts["metadata"]["namespace"], lambda p: podtemplates.is_controlled_by(p, sts)
        )
        return {n: p for p in pods if (n := ordinal_of(sts, p)) is not None}

    def _ensure_revision(self, sts: Body) -> str:
        """The ControllerRevision of the current template; its name is the pods' revision label."""
        template = sts["spec"].get("template") or {}
        collisions = int((sts.get("status") or {}).get("collisionCount", 0))
        name = f"{sts['metadata']['name']}-{podtemplates.template_hash(template, collisions)}"
        namespace = sts["metadata"]["namespace"]
        if self._store.exists(self._revisions, namespace, name):
            return name
        owned, _ = self._store.list(self._revisions, namespace, lambda r: podtemplates.is_controlled_by(r, sts))
        labels = dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})
        body: Body = {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {**labels, REVISION_LABEL: name},
                "ownerReferences": [podtemplates.controller_ref(sts)],
            },
            "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}},
            "revision": max((int(r.get("revision", 0)) for r in owned), default=0) + 1,
        }
        self._store.create(self._revisions, body)
        return name

    def _manage(self, sts: Body, pods: dict[int, Body], revision: str) -> None:
        """One step towards `replicas` healthy pods at the update revision, in ordinal order."""
        replicas = int(sts["spec"].get("replicas", 1))
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") != "Parallel"
        for ordinal in range(replicas):
            pod = pods.get(ordinal)
            if pod is not None and podtemplates.is_finished(pod) and not podtemplates.is_terminating(pod):
                self._delete_pod(sts, pod)
                pod = None
                if ordered:
                    return
            if pod is None:
                self._create_pod(sts, ordinal, revision)
                if ordered:
                    return
            elif ordered and not (podtemplates.is_running_and_ready(pod) and not podtemplates.is_terminating(pod)):
                return
        condemned = sorted((n for n in pods if n >= replicas), reverse=True)
        for ordinal in condemned:
            if ordered and any(podtemplates.is_terminating(p) for p in pods.values()):
                return
            if not podtemplates.is_terminating(pods[ordinal]):
                self._delete_pod(sts, pods[ordinal])
            if ordered:
                return
        self._roll(sts, pods, revision, replicas)

    def _roll(self, sts: Body, pods: dict[int, Body], revision: str, replicas: int) -> None:
        """RollingUpdate: replace the highest-ordinal outdated pod once every pod is healthy."""
        strategy = sts["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        current = [pods.get(n) for n in range(replicas)]
        if not all(p is not None and podtemplates.is_running_and_ready(p) for p in current):
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
        for ordinal in range(replicas - 1, partition - 1, -1):
            pod = pods[ordinal]
            if revision_of(pod) != revision:
                self._delete_pod(sts, pod)
                return

    def _create_pod(self, sts: Body, ordinal: int, revision: str) -> None:
        name = f"{sts['metadata']['name']}-{ordinal}"
        labels = {POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision}
        pod = podtemplates.pod_from_template(sts["spec"].get("template") or {}, sts, name=name, labels=labels)
        pod["spec"]["hostname"] = name
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            claim = self._ensure_claim(sts, template, ordinal, name)
            volumes = [v for v in pod["spec"].get("volumes") or [] if v.get("name") != template["metadata"]["name"]]
            volumes.append({"name": template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
            pod["spec"]["volumes"] = volumes
        sts_name = sts["metadata"]["name"]
        try:
            self._store.create(self._pods, pod)
        except ApiError as error:  # e.g. an admission webhook's refusal: the set shows why, and retries
            message = f"create Pod {name} in StatefulSet {sts_name} failed error: {error.message}"
            self._recorder.event(sts, "Warning", "FailedCreate", message)
            raise
        self._recorder.event(
            sts, "Normal", "SuccessfulCreate", f"create Pod {name} in StatefulSet {sts_name} successful"
        )

    def _ensure_claim(self, sts: Body, template: Body, ordinal: int, pod_name: str) -> str:
        """Create `<template>-<sts>-<ordinal>` once; it outlives the pod (retention policy Retain)."""
        name = claim_name(template, sts, ordinal)
        namespace = sts["metadata"]["namespace"]
        if self._store.exists(self._claims, namespace, name):
            return name
        meta = template.get("metadata") or {}
        selector_labels = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
        body: Body = {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {**(meta.get("labels") or {}), **selector_labels},
            },
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        if meta.get("annotations"):
            body["metadata"]["annotations"] = dict(meta["annotations"])
        self._store.create(self._claims, body)
        message = f"create Claim {name} Pod {pod_name} in StatefulSet {sts['metadata']['name']} success"
        self._recorder.event(sts, "Normal", "SuccessfulCreate", message)
        return name

    def _delete_pod(self, sts: Body, pod: Body) -> None:
        name = pod["metadata"]["name"]
        try:
            self._store.delete(self._pods, pod["metadata"]["namespace"], name)
        except NotFoundError:
            return
        message = f"delete Pod {name} in StatefulSet {sts['metadata']['name']} successful"
        self._recorder.event(sts, "Normal", "SuccessfulDelete", message)

    def _update_status(self, sts: Body, pods: dict[int, Body], revision: str) -> float | None:
        previous = sts.get("status") or {}
        min_ready = int(sts["spec"].get("minReadySeconds", 0))
        now = self._clock.now()
        live = [p for p in pods.values() if not podtemplates.is_terminating(p)]
        ready = [p for p in live if podtemplates.is_running_and_ready(p)]
        waits = [podtemplates.seconds_until_available(p, min_ready, now) for p in ready]
        current = previous.get("currentRevision") or revision
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": len(ready),
            "currentReplicas": sum(1 for p in live if revision_of(p) == current),
            "updatedReplicas": sum(1 for p in live if revision_of(p) == revision),
            "availableReplicas": sum(1 for w in waits if w == 0.0),
            "currentRevision": current,
            "updateRevision": revision,
            "collisionCount": int(previous.get("collisionCount", 0)),
        }
        if status["updatedReplicas"] == status["replicas"] == status["readyReplicas"]:
            status["currentRevision"], status["currentReplicas"] = revision, status["updatedReplicas"]
        status = podtemplates.omit_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")
        if "conditions" in previous:
            status["conditions"] = previous["conditions"]
        if status != previous:
            self._store.replace(self._statefulsets, {**sts, "status": status}, subresource="status")
        pending = [w for w in waits if w]
        return min(pending) if pending else None
