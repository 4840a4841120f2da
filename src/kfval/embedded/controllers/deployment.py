"""The Deployment controller: one ReplicaSet per pod template, rolled out within maxSurge/maxUnavailable.

kstatus (Helm's default waiter), Helm's legacy waiter and `kubectl rollout status` decide that a
Deployment is ready only from the fields written here: observedGeneration, the replica counters and
the Available/Progressing conditions with their exact reasons. The pods themselves are the
ReplicaSet controller's business; this one only scales ReplicaSets and reads their status.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from kfval.embedded.clock import Clock
from kfval.embedded.controllers import deploymentstatus, podtemplates
from kfval.embedded.controllers.deploymentstatus import counter, replicas_of, rollout_limits
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey

COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
REVISION_HISTORY_LIMIT_CHARS = 2000
"""Upstream's maxRevHistoryLengthInChars: older revisions drop off the front of the history first."""
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
RECREATE_POLL_SECONDS = 0.2


NOT_COPIED_TO_REPLICASETS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)


def revision_of(rs: Body) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)


def runs_template(rs: Body, deployment: Body) -> bool:
    """Whether the ReplicaSet runs the Deployment's current pod template (the "new" ReplicaSet)."""
    return podtemplates.templates_equal(
        (rs.get("spec") or {}).get("template") or {}, (deployment.get("spec") or {}).get("template") or {}
    )


def new_replicaset_annotations(deployment: Body, current: dict[str, str], new_revision: str) -> dict[str, str]:
    """The new ReplicaSet's annotations, as upstream's SetNewReplicaSetAnnotations writes them.

    The Deployment's own annotations are copied (not kubectl's last-applied nor the controller's
    bookkeeping), so `kubectl rollout history` shows a `kubernetes.io/change-cause`. The revision only
    grows; a ReplicaSet that had a revision and takes a newer one is a rollback to it, and its old
    revision joins `revision-history` (comma-separated, bounded by 2,000 characters).
    """
    annotations = dict(current)
    for key, value in (deployment["metadata"].get("annotations") or {}).items():
        if key not in NOT_COPIED_TO_REPLICASETS:
            annotations[key] = value
    old = current.get(REVISION)
    if old is not None and int(old or 0) >= int(new_revision):
        return annotations
    annotations[REVISION] = new_revision
    if old is not None:
        history = [entry for entry in annotations.get(REVISION_HISTORY, "").split(",") if entry]
        length = len(",".join(history)) + len(old) + 1 if history else len(old)
        while history and length > REVISION_HISTORY_LIMIT_CHARS:
            length -= len(history.pop(0)) + 1
        if length <= REVISION_HISTORY_LIMIT_CHARS:
            annotations[REVISION_HISTORY] = ",".join([*history, old])
    return annotations


class DeploymentController:
    """Reconciles Deployments into ReplicaSets and reports rollout status."""

    name = COMPONENT

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._recorder = Recorder(store, clock, COMPONENT)
        self._deployments = store.catalog.lookup("apps", "v1", "deployments")
        self._replicasets = store.catalog.lookup("apps", "v1", "replicasets")
        self._pods = store.catalog.lookup("", "v1", "pods")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("apps", "v1", "deployments"),
            Watched("apps", "v1", "replicasets", owner_keys(ResourceKey("apps", "deployments"), "Deployment")),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            deployment = self._store.get(self._deployments, key.namespace, key.name)
        except NotFoundError:
            return None
        if is_being_deleted(deployment) or not deployment["spec"].get("selector"):
            return None
        owned, _ = self._store.list(
            self._replicasets, key.namespace, lambda rs: podtemplates.is_controlled_by(rs, deployment)
        )
        new = next((rs for rs in owned if runs_template(rs, deployment)), None)
        olds = sorted((rs for rs in owned if rs is not new), key=lambda rs: (revision_of(rs), rs["metadata"]["name"]))
        paused = bool(deployment["spec"].get("paused"))
        created = new is None and not paused
        delay = None
        if not paused:
            new = self._ensure_new(deployment, new, olds)
            deployment = self._store.get(self._deployments, key.namespace, key.name)
            if (deployment["spec"].get("strategy") or {}).get("type") == "Recreate":
                delay = self._recreate(deployment, new, olds)
            else:
                self._roll(deployment, new, olds)
        elif new is not None and all(replicas_of(rs) == 0 for rs in olds):
            self._scale(deployment, new, replicas_of(deployment))
        self._cleanup(deployment, olds)
        return _earliest(delay, self._sync_status(key, created=created))

    def _ensure_new(self, deployment: Body, new: Body | None, olds: list[Body]) -> Body:
        """Create the ReplicaSet for the current template, or make it the newest revision."""
        revision = str(max((revision_of(rs) for rs in olds), default=0) + 1)
        if new is None:
            new = self._create_replicaset(deployment, revision, olds)
        else:
            annotations = new["metadata"].get("annotations") or {}
            updated = new_replicaset_annotations(deployment, annotations, revision)
            revision = updated[REVISION]
            if updated != annotations:
                new["metadata"]["annotations"] = updated
                new = self._store.replace(self._replicasets, new)
        deployment = self._store.get(
            self._deployments, deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        )
        annotations = deployment["metadata"].get("annotations") or {}
        if annotations.get(REVISION) != revision:
            deployment["metadata"]["annotations"] = {**annotations, REVISION: revision}
            self._store.replace(self._deployments, deployment)
        return new

    def _create_replicaset(self, deployment: Body, revision: str, olds: list[Body]) -> Body:
        pod_hash = self._free_hash(deployment)
        template = copy.deepcopy(deployment["spec"].get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[podtemplates.POD_TEMPLATE_HASH_LABEL] = pod_hash
        selector = copy.deepcopy(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[podtemplates.POD_TEMPLATE_HASH_LABEL] = pod_hash
        replicas, (surge, _) = deploymentstatus.initial_replicas(deployment, olds), rollout_limits(deployment)
        annotations = {
            **new_replicaset_annotations(deployment, {}, revision),
            DESIRED_REPLICAS: str(replicas_of(deployment)),
            MAX_REPLICAS: str(replicas_of(deployment) + surge),
        }
        name = f"{deployment['metadata']['name']}-{pod_hash}"
        meta = {"name": name, "namespace": deployment["metadata"]["namespace"], "annotations": annotations}
        meta["labels"] = dict(template["metadata"]["labels"])
        meta["ownerReferences"] = [podtemplates.controller_ref(deployment)]
        spec = {"replicas": replicas, "minReadySeconds": int(deployment["spec"].get("minReadySeconds", 0))}
        created = self._store.create(
            self._replicasets, {"metadata": meta, "spec": {**spec, "selector": selector, "template": template}}
        )
        if replicas:
            message = f"Scaled up replica set {name} from 0 to {replicas}"
            self._recorder.event(deployment, "Normal", "ScalingReplicaSet", message)
        return created

    def _free_hash(self, deployment: Body) -> str:
        """The template hash, bumping status.collisionCount while the name is taken by a stranger."""
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        known = int((deployment.get("status") or {}).get("collisionCount", 0))
        collisions = known
        template = deployment["spec"].get("template") or {}
        while self._store.exists(
            self._replicasets, namespace, f"{name}-{podtemplates.template_hash(template, collisions)}"
        ):
            collisions += 1
        if collisions != known:
            fresh = self._store.get(self._deployments, namespace, name)
            fresh["status"] = {**(fresh.get("status") or {}), "collisionCount": collisions}
            self._store.replace(self._deployments, fresh, subresource="status")
        return podtemplates.template_hash(template, collisions)

    def _scale(self, deployment: Body, rs: Body, replicas: int) -> Body:
        """Set a ReplicaSet's size and the annotations recording the Deployment's intent."""
        before = replicas_of(rs)
        surge, _ = rollout_limits(deployment)
        annotations = {
            **(rs["metadata"].get("annotations") or {}),
            DESIRED_REPLICAS: str(replicas_of(deployment)),
            MAX_REPLICAS: str(replicas_of(deployment) + surge),
        }
        if before == replicas and annotations == rs["metadata"].get("annotations"):
            return rs
        rs["metadata"]["annotations"] = annotations
        rs["spec"]["replicas"] = replicas
        updated = self._store.replace(self._replicasets, rs)
        if before != replicas:
            direction = "up" if replicas > before else "down"
            message = f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}"
            self._recorder.event(deployment, "Normal", "ScalingReplicaSet", message)
        return updated

    def _roll(self, deployment: Body, new: Body, olds: list[Body]) -> None:
        """One rolling-update step: surge the new ReplicaSet, then retire old pods as new ones become available."""
        replicas = replicas_of(deployment)
        surge, max_unavailable = rollout_limits(deployment)
        total = replicas_of(new) + sum(replicas_of(rs) for rs in olds)
        if replicas_of(new) > replicas or not olds:
            new = self._scale(deployment, new, replicas)
        elif replicas_of(new) < replicas:
            grow = min(replicas + surge - total, replicas - replicas_of(new))
            if grow > 0:
                new = self._scale(deployment, new, replicas_of(new) + grow)
        total = replicas_of(new) + sum(replicas_of(rs) for rs in olds)
        min_available = replicas - max_unavailable
        budget = total - min_available - max(0, replicas_of(new) - counter(new, "availableReplicas"))
        for rs in olds:
            unhealthy = max(0, replicas_of(rs) - counter(rs, "availableReplicas"))
            cut = min(unhealthy, max(0, budget))
            if cut:
                self._scale(deployment, rs, replicas_of(rs) - cut)
                budget -= cut
        available = sum(min(counter(rs, "availableReplicas"), replicas_of(rs)) for rs in (new, *olds))
        budget = available - min_available
        for rs in olds:
            fresh = self._store.get(self._replicasets, rs["metadata"]["namespace"], rs["metadata"]["name"])
            cut = min(replicas_of(fresh), max(0, budget))
            if cut:
                self._scale(deployment, fresh, replicas_of(fresh) - cut)
                budget -= cut

    def _recreate(self, deployment: Body, new: Body, olds: list[Body]) -> float | None:
        """Scale every old ReplicaSet to 0, wait until their pods are gone, then scale up the new one."""
        for rs in olds:
            self._scale(deployment, rs, 0)
        old_uids = {rs["metadata"]["uid"] for rs in olds}
        lingering, _ = self._store.list(
            self._pods,
            deployment["metadata"]["namespace"],
            lambda p: (
                not podtemplates.is_finished(p)
                and any(ref.get("uid") in old_uids for ref in p["metadata"].get("ownerReferences") or [])
            ),
        )
        if lingering:
            return RECREATE_POLL_SECONDS
        self._scale(deployment, new, replicas_of(deployment))
        return None

    def _cleanup(self, deployment: Body, olds: list[Body]) -> None:
        """Keep at most revisionHistoryLimit old, empty ReplicaSets (the oldest go first)."""
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        empty = [rs for rs in olds if replicas_of(rs) == 0 and counter(rs, "replicas") == 0]
        for rs in empty[: max(0, len(empty) - limit)]:
            namespace, name = rs["metadata"]["namespace"], rs["metadata"]["name"]
            if not self._store.exists(self._replicasets, namespace, name):
                continue
            fresh = self._store.get(self._replicasets, namespace, name)
            if replicas_of(fresh) == 0 and not is_being_deleted(fresh):
                self._store.delete(self._replicasets, namespace, name)

    def _sync_status(self, key: ObjectKey, *, created: bool) -> float | None:
        deployment = self._store.get(self._deployments, key.namespace, key.name)
        owned, _ = self._store.list(
            self._replicasets, key.namespace, lambda rs: podtemplates.is_controlled_by(rs, deployment)
        )
        new = next((rs for rs in owned if runs_template(rs, deployment)), None)
        olds = [rs for rs in owned if rs is not new]
        progress = deploymentstatus.calculate(
            deployment, new, olds, now=self._clock.now(), created=created, limits=rollout_limits(deployment)
        )
        if progress.status != deployment.get("status"):
            self._store.replace(self._deployments, {**deployment, "status": progress.status}, subresource="status")
        return progress.requeue_after


def _earliest(*delays: float | None) -> float | None:
    present = [d for d in delays if d is not None]
    return min(present) if present else None
