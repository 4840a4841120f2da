"""Establishes CustomResourceDefinitions and cleans up after them, as the apiextensions-apiserver's controllers do.

Helm, kubectl and the Kubeflow charts wait for a CRD's `Established` condition before they create
custom resources, so a stored CRD must gain NamesAccepted/Established, its acceptedNames and its
storedVersions. Deleting a CRD must take every custom resource of that kind with it: the real
server guards this with the `customresourcecleanup.apiextensions.k8s.io` finalizer, which this
controller adds to each CRD and releases once no custom resource is left. (The catalog itself
follows stored CRDs through the store's catalog hook, not through this controller.)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, own_key
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import types_of_crd
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceType, WatchEvent

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
CLEANUP_RECHECK_SECONDS = 0.25


def accepted_names(spec: Body) -> Body:
    """spec.names completed with the defaults the server fills in (singular, listKind)."""
    names: Body = copy.deepcopy(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    return names


def storage_version(spec: Body) -> str:
    versions = spec.get("versions") or []
    for version in versions:
        if version.get("storage"):
            return str(version["name"])
    return str(versions[0]["name"]) if versions else ""


def _conditions(terminating: bool) -> list[Body]:
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
        },
    ]
    if terminating:
        conditions.append(
            {
                "type": "Terminating",
                "status": "True",
                "reason": "InstanceDeletionInProgress",
                "message": "CustomResource deletion is in progress",
            }
        )
    return conditions


class CrdController:
    """Keeps CRD status current and removes a deleted CRD's custom resources before releasing it."""

    name = "apiextensions-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._crds = store.catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        self._last_seen: dict[str, Body] = {}

    def watches(self) -> Sequence[Watched]:
        return [Watched("apiextensions.k8s.io", "v1", "customresourcedefinitions", self.observe)]

    def observe(self, event: WatchEvent) -> list[ObjectKey]:
        """Remember each CRD's last body, so its custom resources can be found after it is gone."""
        self._last_seen[event.object["metadata"]["name"]] = event.object
        return own_key(event)

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            crd = self._store.get(self._crds, None, key.name)
        except NotFoundError:
            # Deleted without our finalizer (before we added it): still leave no custom resource behind.
            last = self._last_seen.pop(key.name, None)
            if last is not None:
                self._delete_instances(last)
            return None
        if is_being_deleted(crd):
            return self._clean_up(crd)
        finalizers = crd["metadata"].setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
            crd = self._store.replace(self._crds, crd)
        self._write_status(crd, terminating=False)
        return None

    def _clean_up(self, crd: Body) -> float | None:
        finalizers = crd["metadata"].get("finalizers") or []
        if CLEANUP_FINALIZER not in finalizers:
            return None
        crd = self._write_status(crd, terminating=True)
        if self._delete_instances(crd):
            return CLEANUP_RECHECK_SECONDS
        crd["metadata"]["finalizers"] = [f for f in finalizers if f != CLEANUP_FINALIZER]
        self._store.replace(self._crds, crd)
        return None

    def _instance_type(self, crd: Body) -> ResourceType | None:
        """The type the CRD's objects are stored under, served or not (any version shares one object set)."""
        types = types_of_crd(crd)
        return types[0] if types else None

    def _delete_instances(self, crd: Body) -> int:
        """Delete every custom resource of the CRD; return how many are still there."""
        rt = self._instance_type(crd)
        if rt is None:
            return 0
        items, _ = self._store.list(rt)
        for item in items:
            if is_being_deleted(item):
                continue
            meta = item["metadata"]
            try:
                self._store.delete(rt, meta.get("namespace"), meta["name"], propagation="Background")
            except NotFoundError:
                continue
        remaining, _ = self._store.list(rt)
        return len(remaining)

    def _write_status(self, crd: Body, *, terminating: bool) -> Body:
        """Write acceptedNames, storedVersions and conditions, keeping unchanged transition times."""
        spec = crd["spec"]
        status = copy.deepcopy(crd.get("status") or {})
        previous = {c.get("type"): c for c in status.get("conditions") or []}
        now = rfc3339(self._clock.now())
        conditions = []
        for condition in _conditions(terminating):
            before = previous.get(condition["type"]) or {}
            unchanged = before.get("status") == condition["status"]
            conditions.append(
                {**condition, "lastTransitionTime": before.get("lastTransitionTime", now) if unchanged else now}
            )
        stored = list(status.get("storedVersions") or [])
        version = storage_version(spec)
        if version and version not in stored:
            stored.append(version)
        wanted = {**status, "conditions": conditions, "acceptedNames": accepted_names(spec), "storedVersions": stored}
        if wanted == crd.get("status"):
            return crd
        crd["status"] = wanted
        return self._store.replace(self._crds, crd, subresource="status")
