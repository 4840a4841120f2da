"""The object store: the only writer of uid, resourceVersion, generation and timestamps.

Every verb is synchronous (the cluster runs on one event loop, so a verb is atomic), returns deep
copies, and publishes exactly one watch event per change. Deletion follows the real server:
finalizers and foreground deletion leave the object with a deletionTimestamp until they are
removed; a bound pod is deleted gracefully (the kubelet finishes the deletion); a namespace goes
Terminating until the namespace controller finalizes it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, Protocol

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    Cause,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
)
from kfval.embedded.store.catalog import CRD_KEY, NAMESPACE_KEY, POD_KEY, Catalog
from kfval.embedded.store.fanout import Fanout, Filter, Subscription
from kfval.embedded.store.history import History
from kfval.embedded.store.naming import generate_suffix
from kfval.embedded.types import Body, EventType, ResourceKey, ResourceType, WatchEvent

ORPHAN_BY_DEFAULT = frozenset({ResourceKey("batch", "jobs"), ResourceKey("", "replicationcontrollers")})
DEFAULT_POD_GRACE_SECONDS = 30
_SERVER_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")
UNVERSIONED_GROUPS = frozenset({"", "rbac.authorization.k8s.io", "coordination.k8s.io", "events.k8s.io"})
"""Groups whose create strategies leave metadata.generation unset (v1.32): pods, configmaps, secrets,
services, namespaces, roles, leases, events. Workloads, CRDs and custom resources count generations."""
GENERATION_IN_CORE = frozenset({ResourceKey("", "replicationcontrollers")})


def _meta(body: Body) -> dict[str, Any]:
    meta = body.setdefault("metadata", {})
    assert isinstance(meta, dict)
    return meta


def _assign_name(rt: ResourceType, meta: dict[str, Any]) -> None:
    """The name, generated from generateName when none is given; 422 when neither is."""
    if meta.get("name"):
        return
    if not meta.get("generateName"):
        cause = Cause("FieldValueRequired", "name or generateName is required", "metadata.name")
        raise InvalidError(rt.kind, "", [cause], group=rt.group)
    meta["name"] = meta["generateName"] + generate_suffix()


def tracks_generation(rt: ResourceType) -> bool:
    """Whether the kind's metadata.generation counts spec changes (kstatus compares it to observedGeneration)."""
    return rt.group not in UNVERSIONED_GROUPS or rt.key in GENERATION_IN_CORE


def _spec_part(body: Body, with_status: bool) -> dict[str, Any]:
    """What a generation counts: everything but metadata and status (a custom resource without a status
    subresource counts its status too, as apiextensions' strategy compares all but metadata)."""
    ignored = ("metadata", "apiVersion", "kind") if with_status else ("metadata", "status", "apiVersion", "kind")
    return {k: v for k, v in body.items() if k not in ignored}


def _with_new_status(current: Body, body: Body) -> Body:
    """A `/status` write: the stored object with the new status and the writer's managedFields (the
    status strategies keep nothing else of the request)."""
    obj = copy.deepcopy(current)
    if body.get("status") is None:
        obj.pop("status", None)
    else:
        obj["status"] = copy.deepcopy(body["status"])
    managed = (body.get("metadata") or {}).get("managedFields")
    if managed is not None:
        obj["metadata"]["managedFields"] = copy.deepcopy(managed)
    return obj


class Admitter(Protocol):
    """The admission chain, as the store calls it for every create and every update or status write."""

    def admit(
        self,
        rt: ResourceType,
        obj: Body,
        *,
        operation: Literal["CREATE", "UPDATE"],
        old: Body | None,
        namespace: str | None,
        subresource: str | None = None,
    ) -> Body: ...


class Decoder(Protocol):
    """What every object handed out passes, as the real server decodes what it reads from storage
    (a custom resource is pruned and defaulted by its CRD's schema of today)."""

    def __call__(self, rt: ResourceType, body: Body) -> None: ...


def _status_from(rt: ResourceType, obj: Body, source: Body | None) -> None:
    """A kind with a status subresource takes its status only from `/status`: keep `source`'s (or none)."""
    if "status" not in rt.subresources:
        return
    if source is not None and "status" in source:
        obj["status"] = copy.deepcopy(source["status"])
    else:
        obj.pop("status", None)


class Store:
    """All objects of the cluster, by resource, namespace and name.

    Every create, update and `/status` write passes `admission` (defaulting, validation, mutating and
    validating plug-ins), whether a client or a controller writes, as every write passes the real API
    server's admission chain; every object handed out passes `decoder`.
    """

    def __init__(self, catalog: Catalog, clock: Clock, history: History | None = None) -> None:
        self.catalog = catalog
        self.clock = clock
        self.history = history or History()
        self.fanout = Fanout()
        self._objects: dict[ResourceKey, dict[tuple[str, str], Body]] = {}
        self._hooks: list[Callable[[WatchEvent], None]] = []
        self.admission: Admitter | None = None
        self.decoder: Decoder | None = None

    @property
    def resource_version(self) -> int:
        return self.history.current

    def on_change(self, hook: Callable[[WatchEvent], None]) -> None:
        """Call `hook` synchronously on every change (the catalog follows CRDs this way)."""
        self._hooks.append(hook)

    # -- reading -------------------------------------------------------------------------------

    def _bucket(self, key: ResourceKey) -> dict[tuple[str, str], Body]:
        return self._objects.setdefault(key, {})

    def _scope(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _found(self, rt: ResourceType, namespace: str | None, name: str) -> Body:
        body = self._bucket(rt.key).get((self._scope(rt, namespace), name))
        if body is None:
            raise NotFoundError.object(rt, name)
        return body

    def _present(self, rt: ResourceType, body: Body) -> Body:
        """A decoded copy labelled with the apiVersion and kind of the version asked for."""
        result = copy.deepcopy(body)
        result["apiVersion"] = rt.api_version
        result["kind"] = rt.kind
        if self.decoder is not None:
            self.decoder(rt, result)
        return result

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Body:
        return self._present(rt, self._found(rt, namespace, name))

    def exists(self, rt: ResourceType, namespace: str | None, name: str) -> bool:
        return (self._scope(rt, namespace), name) in self._bucket(rt.key)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        predicate: Callable[[Body], bool] | None = None,
        *,
        read_only: bool = False,
    ) -> tuple[list[Body], int]:
        """Matching objects sorted by namespace and name, and the resourceVersion they are current at.

        `read_only` hands out shallow copies that share nested values with the store: for a caller that
        only encodes them (the API server's list), it saves the deep copy of every object that needs no
        decoding (every built-in kind's).
        """
        read_only = read_only and rt.schema is None
        items = []
        for (ns, _name), body in sorted(self._bucket(rt.key).items()):
            if rt.namespaced and namespace and ns != namespace:
                continue
            if predicate is None or predicate(body):
                items.append(
                    {**body, "apiVersion": rt.api_version, "kind": rt.kind} if read_only else self._present(rt, body)
                )
        return items, self.history.current

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        since: int | None = None,
        predicate: Callable[[Body], bool] | None = None,
    ) -> Subscription:
        """Open a watch: from `since` (replaying history), or from now with ADDED for what exists."""
        filt = Filter(rt.key, namespace if rt.namespaced else None, predicate)
        if since is None or since == 0:
            initial = [
                WatchEvent("ADDED", self._present(rt, body), int(body["metadata"]["resourceVersion"]), rt.key)
                for _k, body in sorted(self._bucket(rt.key).items())
                if filt.admits(body)
            ]
        else:
            initial = [
                seen
                for event in self.history.since(since)
                if event.key == rt.key
                for seen in [filt.translate(event)]
                if seen is not None
            ]
        return self.fanout.subscribe(filt, initial, self.history.current)

    # -- writing -------------------------------------------------------------------------------

    def _emit(self, rt: ResourceType, type_: EventType, body: Body, previous: Body | None = None) -> None:
        event = WatchEvent(
            type_,
            self._present(rt, body),
            int(body["metadata"]["resourceVersion"]),
            rt.key,
            self._present(rt, previous) if previous is not None else None,
        )
        self.history.record(event)
        for hook in self._hooks:
            hook(event)
        self.fanout.publish(event)

    def _check_namespace(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        ns_type = self.catalog.lookup("", "v1", "namespaces")
        ns = self._bucket(NAMESPACE_KEY).get(("", namespace))
        if ns is None:
            raise NotFoundError.object(ns_type, namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ForbiddenError(
                f"unable to create new content in namespace {namespace} because it is being terminated",
                details={"name": namespace, "kind": "namespaces"},
            )

    def create(self, rt: ResourceType, body: Body, *, namespace: str | None = None) -> Body:
        """Store a new object: admitted, with server-set metadata; 409 when it exists, 404 when its namespace does not.

        Admission may choose the uid (a Job's selector is built from it).
        """
        obj = copy.deepcopy(body)
        meta = _meta(obj)
        for field in (*_SERVER_METADATA, "resourceVersion"):
            meta.pop(field, None)
        if rt.group not in ("", "apiextensions.k8s.io"):
            _status_from(rt, obj, None)  # a create strategy starts the status afresh (pods keep theirs)
        if self.admission is not None:
            obj = self.admission.admit(rt, obj, operation="CREATE", old=None, namespace=namespace)
            meta = _meta(obj)
        _assign_name(rt, meta)
        ns = self._scope(rt, namespace or meta.get("namespace"))
        if rt.namespaced:
            if not ns:
                raise BadRequestError(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        self._check_namespace(rt, ns)
        if (ns, meta["name"]) in self._bucket(rt.key):
            raise AlreadyExistsError.object(rt, meta["name"])
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        if tracks_generation(rt):
            meta["generation"] = 1
        meta["resourceVersion"] = str(self.history.next_version())
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        self._bucket(rt.key)[(ns, meta["name"])] = obj
        self._emit(rt, "ADDED", obj)
        return self._present(rt, obj)

    def replace(
        self, rt: ResourceType, body: Body, *, namespace: str | None = None, subresource: str | None = None
    ) -> Body:
        """PUT semantics: optimistic concurrency on resourceVersion, status only through `/status`.

        A `/status` write is the stored object with the new status, admitted as such (a custom resource
        is validated whole, as apiextensions' status strategy does); `binding` and `finalize` change one
        part of the object and are not admitted. Neither kind of write counts a generation.
        """
        meta = body.get("metadata") or {}
        name = meta.get("name", "")
        current = self._found(rt, namespace or meta.get("namespace"), name)
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise ConflictError.modified(rt, name)
        if meta.get("uid") and meta["uid"] != current["metadata"]["uid"]:
            raise ConflictError.for_object(
                rt,
                name,
                f"Precondition failed: UID in precondition: {meta['uid']}, "
                f"UID in object meta: {current['metadata']['uid']}",
            )
        if subresource == "status":
            obj = _with_new_status(current, body)
        else:
            obj = copy.deepcopy(body)
            _status_from(rt, obj, current)
        if subresource in (None, "status") and self.admission is not None:
            obj = self.admission.admit(
                rt, obj, operation="UPDATE", old=current, namespace=namespace, subresource=subresource
            )
        if subresource != "status":
            new_meta = _meta(obj)
            for field in (*_SERVER_METADATA, "namespace", "name"):
                if field in current["metadata"]:
                    new_meta[field] = current["metadata"][field]
                else:
                    new_meta.pop(field, None)
            counted = self.catalog.is_custom(rt) and "status" not in rt.subresources
            if tracks_generation(rt) and _spec_part(obj, counted) != _spec_part(current, counted):
                new_meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if obj == current:
            return self._present(rt, current)
        return self._commit(rt, current, obj)

    def _commit(self, rt: ResourceType, current: Body, obj: Body) -> Body:
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if rt.namespaced else ""
        meta["resourceVersion"] = str(self.history.next_version())
        if meta.get("deletionTimestamp") and self._finalized(rt, obj):
            del self._bucket(rt.key)[(ns, meta["name"])]
            self._emit(rt, "DELETED", obj)
        else:
            self._bucket(rt.key)[(ns, meta["name"])] = obj
            self._emit(rt, "MODIFIED", obj, current)
        return self._present(rt, obj)

    def _finalized(self, rt: ResourceType, obj: Body) -> bool:
        if obj["metadata"].get("finalizers"):
            return False
        if rt.key == NAMESPACE_KEY:
            return not (obj.get("spec") or {}).get("finalizers")
        if rt.key == POD_KEY:
            return int(obj["metadata"].get("deletionGracePeriodSeconds", 0)) == 0
        return True

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> tuple[Body, bool]:
        """Delete, or begin deleting; returns the object and whether it is gone now."""
        current = self._found(rt, namespace, name)
        for field, wanted in (preconditions or {}).items():
            if wanted and current["metadata"].get(field) != wanted:
                raise ConflictError.for_object(
                    rt,
                    name,
                    f"Precondition failed: {field} in precondition: {wanted}, "
                    f"{field} in object meta: {current['metadata'].get(field)}",
                )
        obj = copy.deepcopy(current)
        meta = obj["metadata"]
        policy = propagation or ("Orphan" if rt.key in ORPHAN_BY_DEFAULT else "Background")
        finalizers = list(meta.get("finalizers") or [])
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if policy == "Orphan" and "orphan" not in finalizers and not meta.get("deletionTimestamp"):
            finalizers.append("orphan")
        if finalizers:
            meta["finalizers"] = finalizers
        grace = self._grace(rt, current, grace_period_seconds)
        if meta.get("deletionTimestamp") is None:
            meta["deletionTimestamp"] = rfc3339(self.clock.now() + timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
        elif rt.key == POD_KEY and grace < meta.get("deletionGracePeriodSeconds", 0):
            meta["deletionGracePeriodSeconds"] = grace
        if rt.key == NAMESPACE_KEY:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if obj == current:
            return self._present(rt, current), False
        result = self._commit(rt, current, obj)
        return result, not self.exists(rt, namespace, name)

    def _grace(self, rt: ResourceType, current: Body, requested: int | None) -> int:
        """Only pods bound to the node and not yet finished get a grace period."""
        if rt.key != POD_KEY:
            return 0
        spec, status = current.get("spec") or {}, current.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        return int(spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE_SECONDS))

    def register_catalog_hook(self) -> None:
        """Keep the catalog in step with stored CRDs."""

        def follow(event: WatchEvent) -> None:
            if event.key != CRD_KEY:
                return
            if event.type == "DELETED":
                self.catalog.unregister_crd(event.object["metadata"]["name"])
            else:
                try:
                    self.catalog.register_crd(event.object)
                except (KeyError, TypeError) as error:
                    raise ApiError(f"CustomResourceDefinition is malformed: {error}") from error

        self.on_change(follow)
