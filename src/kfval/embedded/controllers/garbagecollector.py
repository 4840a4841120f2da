"""Follows ownerReferences, as kube-controller-manager's garbage collector does.

Deleting a Deployment must take its ReplicaSets and Pods with it, or Helm and `kubectl wait` never
finish (trap 12). The collector keeps an owner -> dependents graph built from watch events of every
resource (CRD-defined kinds included, as they appear) and honours the three propagation policies:
Background (dependents of a vanished owner are deleted), Foreground (the owner waits, with its
`foregroundDeletion` finalizer, until its blocking dependents are gone) and Orphan (dependents lose
their reference to the owner, then the owner's `orphan` finalizer is released). Whether an owner is
really gone is always confirmed against the store, since the graph may lag behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.reactor import EVERY_RESOURCE, Watched, is_being_deleted
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceType, WatchEvent

log = logging.getLogger(__name__)

FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
OwnerState = Literal["alive", "absent", "waiting"]


@dataclass(frozen=True)
class OwnerLink:
    """One ownerReference of a dependent, reduced to what the collector decides on."""

    uid: str
    block_owner_deletion: bool


@dataclass(frozen=True)
class Node:
    """One object in the ownership graph."""

    key: ObjectKey
    owners: tuple[OwnerLink, ...]
    deleting: bool


def _links(body: Body) -> tuple[OwnerLink, ...]:
    refs = body["metadata"].get("ownerReferences") or []
    return tuple(OwnerLink(ref.get("uid", ""), bool(ref.get("blockOwnerDeletion"))) for ref in refs)


class GarbageCollectorController:
    """Deletes dependents of deleted owners, and finishes foreground and orphan deletions."""

    name = "garbage-collector-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._recorder = Recorder(store, clock, "garbage-collector-controller")
        self._nodes: dict[str, Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def watches(self) -> Sequence[Watched]:
        return [Watched(EVERY_RESOURCE, EVERY_RESOURCE, EVERY_RESOURCE, self.observe)]

    # -- the graph, fed by watch events only ----------------------------------------------------

    def observe(self, event: WatchEvent) -> list[ObjectKey]:
        """Update the graph with one event; return the objects whose ownership needs a look."""
        meta = event.object["metadata"]
        uid = meta.get("uid", "")
        key = ObjectKey(event.key, meta.get("namespace", ""), meta["name"])
        old = self._nodes.get(uid)
        self._unlink(uid, old)
        if event.type == "DELETED":
            self._nodes.pop(uid, None)
            return [*self._dependent_keys(uid), *self._owner_keys(old)]
        node = Node(key, _links(event.object), is_being_deleted(event.object))
        self._nodes[uid] = node
        for link in node.owners:
            self._dependents.setdefault(link.uid, set()).add(uid)
        finalizers = set(meta.get("finalizers") or [])
        keys = []
        if node.owners and (old is None or old.owners != node.owners):
            keys.append(key)
        if node.deleting and finalizers & {FOREGROUND_FINALIZER, ORPHAN_FINALIZER}:
            keys.append(key)
        return keys

    def _unlink(self, uid: str, old: Node | None) -> None:
        for link in old.owners if old else ():
            dependents = self._dependents.get(link.uid)
            if dependents is not None:
                dependents.discard(uid)
                if not dependents:
                    del self._dependents[link.uid]

    def _dependent_keys(self, uid: str) -> list[ObjectKey]:
        return [self._nodes[d].key for d in sorted(self._dependents.get(uid, ())) if d in self._nodes]

    def _owner_keys(self, node: Node | None) -> list[ObjectKey]:
        return [self._nodes[link.uid].key for link in node.owners if link.uid in self._nodes] if node else []

    # -- reconciling one object --------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> float | None:
        rt = self._store.catalog.storage_type(key.resource)
        if rt is None:
            return None
        body = self._store.get(rt, key.namespace, key.name)
        finalizers = body["metadata"].get("finalizers") or []
        if is_being_deleted(body) and ORPHAN_FINALIZER in finalizers:
            self._orphan_dependents(body)
            self._release(rt, body, ORPHAN_FINALIZER)
        elif is_being_deleted(body) and FOREGROUND_FINALIZER in finalizers:
            if not self._delete_dependents(body):
                self._release(rt, body, FOREGROUND_FINALIZER)
        elif not is_being_deleted(body) and body["metadata"].get("ownerReferences"):
            self._check_owners(rt, body)
        return None

    def _release(self, rt: ResourceType, body: Body, finalizer: str) -> None:
        meta = body["metadata"]
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
        self._store.replace(rt, body)

    def _dependent_nodes(self, owner: Body) -> list[tuple[str, Node]]:
        uid = owner["metadata"]["uid"]
        return [(d, self._nodes[d]) for d in sorted(self._dependents.get(uid, ())) if d in self._nodes]

    def _orphan_dependents(self, owner: Body) -> None:
        """Remove the reference to the owner from each dependent, so nothing collects them."""
        owner_uid = owner["metadata"]["uid"]
        for uid, node in self._dependent_nodes(owner):
            rt = self._store.catalog.storage_type(node.key.resource)
            if rt is None:
                continue
            try:
                dependent = self._store.get(rt, node.key.namespace, node.key.name)
            except NotFoundError:
                continue
            meta = dependent["metadata"]
            if meta["uid"] != uid:
                continue
            meta["ownerReferences"] = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid]
            if not meta["ownerReferences"]:
                del meta["ownerReferences"]
            self._store.replace(rt, dependent)

    def _delete_dependents(self, owner: Body) -> bool:
        """Foreground: delete the owner's dependents; True while a blocking dependent remains."""
        owner_uid = owner["metadata"]["uid"]
        blocked = False
        for uid, node in self._dependent_nodes(owner):
            rt = self._store.catalog.storage_type(node.key.resource)
            if rt is None:
                continue
            gone = False
            if not node.deleting:
                policy = "Foreground" if self._dependents.get(uid) else "Background"
                gone = self._delete(rt, node.key, uid, policy)
            blocks = any(link.uid == owner_uid and link.block_owner_deletion for link in node.owners)
            blocked = blocked or (blocks and not gone)
        return blocked

    def _delete(self, rt: ResourceType, key: ObjectKey, uid: str, policy: str) -> bool:
        """Delete one object if it is still the one meant; True when it is gone now."""
        try:
            _, gone = self._store.delete(rt, key.namespace, key.name, propagation=policy, preconditions={"uid": uid})
        except NotFoundError:
            return True
        return gone

    # -- a dependent whose owners may be gone ------------------------------------------------------

    def _check_owners(self, rt: ResourceType, body: Body) -> None:
        meta = body["metadata"]
        refs = meta.get("ownerReferences") or []
        states = [self._owner_state(body, ref) for ref in refs]
        if "alive" in states:
            if "absent" in states:
                meta["ownerReferences"] = [r for r, s in zip(refs, states, strict=True) if s != "absent"]
                self._store.replace(rt, body)
            return
        key = ObjectKey(rt.key, meta.get("namespace", ""), meta["name"])
        policy = "Foreground" if "waiting" in states and self._dependents.get(meta["uid"]) else "Background"
        log.debug("garbage collecting %s (owners: %s)", key, states)
        self._delete(rt, key, meta["uid"], policy)

    def _owner_state(self, dependent: Body, ref: Body) -> OwnerState:
        """Is the referenced owner still there (same uid), gone, or waiting for its dependents?"""
        rt = self._store.catalog.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            # A kind nobody serves (yet): not provably gone, so keep the dependent.
            return "alive"
        namespace = dependent["metadata"].get("namespace", "")
        if rt.namespaced and not namespace:
            self._invalid_namespace(dependent, ref)
            return "absent"
        try:
            owner = self._store.get(rt, namespace if rt.namespaced else None, ref.get("name", ""))
        except NotFoundError:
            return "absent"
        meta = owner["metadata"]
        if meta["uid"] != ref.get("uid"):
            return "absent"
        if is_being_deleted(owner) and FOREGROUND_FINALIZER in (meta.get("finalizers") or []):
            return "waiting"
        return "alive"

    def _invalid_namespace(self, dependent: Body, ref: Body) -> None:
        """A cluster-scoped object cannot be owned by a namespaced one: warn, as the real collector does."""
        described = (
            f"[{ref.get('apiVersion', '')}/{ref.get('kind', '')}, namespace: , "
            f"name: {ref.get('name', '')}, uid: {ref.get('uid', '')}]"
        )
        message = f'ownerRef {described} does not exist in namespace ""'
        self._recorder.event(dependent, "Warning", "OwnerRefInvalidNamespace", message)
