"""Finishes namespace deletion, as kube-controller-manager's namespace controller does.

Deleting a namespace only marks it Terminating; something must then delete everything inside it
(built-in kinds and custom resources alike), wait for pods to finish their grace period and for
finalizers to be released, and only then drop the `kubernetes` finalizer so the store removes
the namespace. `kubectl delete namespace` waits for that final DELETED event (trap 12).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers.reactor import EVERY_RESOURCE, Watched, is_being_deleted
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey, ResourceType, WatchEvent

NAMESPACE_FINALIZER = "kubernetes"
CONTENT_RECHECK_SECONDS = 0.25


def _condition(type_: str, status: str, reason: str, message: str) -> Body:
    return {"type": type_, "status": status, "reason": reason, "message": message}


_SETTLED_CONDITIONS = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
)


def _remaining_conditions(remaining: Counter[str], finalizers: Counter[str]) -> list[Body]:
    """The status conditions a terminating namespace carries, worded like the real controller's."""
    conditions = [_condition(type_, "False", reason, message) for type_, reason, message in _SETTLED_CONDITIONS]
    if remaining:
        counts = ", ".join(f"{gr} has {n} resource instances" for gr, n in sorted(remaining.items()))
        message = f"Some resources are remaining: {counts}"
        conditions.append(_condition("NamespaceContentRemaining", "True", "SomeResourcesRemain", message))
    else:
        message = "All content successfully removed"
        conditions.append(_condition("NamespaceContentRemaining", "False", "ContentRemoved", message))
    if finalizers:
        held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        message = f"Some content in the namespace has finalizers remaining: {held}"
        conditions.append(_condition("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", message))
    else:
        message = "All content-preserving finalizers finished"
        conditions.append(_condition("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers", message))
    return conditions


class NamespaceController:
    """Empties a terminating namespace, then releases its `kubernetes` finalizer."""

    name = "namespace-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._namespaces = store.catalog.lookup("", "v1", "namespaces")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("", "v1", "namespaces"),
            Watched(EVERY_RESOURCE, EVERY_RESOURCE, EVERY_RESOURCE, self.content_gone),
        ]

    def content_gone(self, event: WatchEvent) -> list[ObjectKey]:
        """A terminating namespace looks again as soon as something in it is gone, rather than at its next
        recheck: its last pod's exit then ends the namespace at once, and a suite waiting for it goes on."""
        namespace = event.object["metadata"].get("namespace")
        if event.type != "DELETED" or not namespace:
            return []
        try:
            found = self._store.get(self._namespaces, None, namespace)
        except NotFoundError:
            return []
        return [ObjectKey(self._namespaces.key, "", namespace)] if is_being_deleted(found) else []

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            namespace = self._store.get(self._namespaces, None, key.name)
        except NotFoundError:
            # Removed without finalization (it had no finalizer): still leave no content behind.
            self._delete_content(key.name)
            return None
        if not is_being_deleted(namespace):
            return None
        self._delete_content(key.name)
        remaining, finalizers = self._remaining(key.name)
        self._write_conditions(namespace, _remaining_conditions(remaining, finalizers))
        if remaining:
            return CONTENT_RECHECK_SECONDS
        self._finalize(key.name)
        return None

    def _content_types(self) -> list[ResourceType]:
        """Every namespaced, deletable resource served now, once per group/resource."""
        seen: set[ResourceKey] = set()
        result = []
        for rt in self._store.catalog:
            if rt.namespaced and rt.key not in seen and {"list", "delete"} <= set(rt.verbs):
                seen.add(rt.key)
                result.append(rt)
        return result

    def _delete_content(self, namespace: str) -> None:
        for rt in self._content_types():
            items, _ = self._store.list(rt, namespace)
            for item in items:
                if is_being_deleted(item):
                    continue
                try:
                    self._store.delete(rt, namespace, item["metadata"]["name"], propagation="Background")
                except NotFoundError:
                    continue

    def _remaining(self, namespace: str) -> tuple[Counter[str], Counter[str]]:
        """How many objects of each resource are left, and which finalizers hold them."""
        remaining: Counter[str] = Counter()
        finalizers: Counter[str] = Counter()
        for rt in self._content_types():
            items, _ = self._store.list(rt, namespace)
            if items:
                remaining[rt.qualified] += len(items)
            for item in items:
                finalizers.update(item["metadata"].get("finalizers") or [])
        return remaining, finalizers

    def _write_conditions(self, namespace: Body, conditions: list[Body]) -> None:
        """Record progress in status.conditions, keeping transition times of unchanged conditions."""
        status = copy.deepcopy(namespace.get("status") or {})
        previous = {c.get("type"): c for c in status.get("conditions") or []}
        now = rfc3339(self._clock.now())
        merged = []
        for condition in conditions:
            before = previous.get(condition["type"]) or {}
            unchanged = before.get("status") == condition["status"]
            merged.append(
                {**condition, "lastTransitionTime": before.get("lastTransitionTime", now) if unchanged else now}
            )
        if merged == status.get("conditions"):
            return
        status["conditions"] = merged
        namespace["status"] = status
        self._store.replace(self._namespaces, namespace, subresource="status")

    def _finalize(self, name: str) -> None:
        """Drop the `kubernetes` finalizer; the store deletes the namespace once spec.finalizers is empty."""
        namespace = self._store.get(self._namespaces, None, name)
        spec = namespace.setdefault("spec", {})
        finalizers = [f for f in spec.get("finalizers") or [] if f != NAMESPACE_FINALIZER]
        if finalizers == spec.get("finalizers"):
            return
        spec["finalizers"] = finalizers
        self._store.replace(self._namespaces, namespace, subresource="finalize")
