"""Publishes the cluster's CA as `kube-root-ca.crt` in every namespace, as kube-controller-manager's
root-ca-cert-publisher does.

The API access volume every pod gets (admission/serviceaccounttoken.py) projects `ca.crt` from
this ConfigMap, and an in-cluster client verifies the API server's certificate with it; the
kubelet waits (FailedMount) until it exists. Changing or deleting it only makes it come back.
"""

from __future__ import annotations

from collections.abc import Sequence

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.reactor import Watched, is_being_deleted
from kfval.embedded.errors import AlreadyExistsError, ConflictError, ForbiddenError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import ObjectKey, ResourceKey, WatchEvent

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)
_NAMESPACES = ResourceKey("", "namespaces")


def namespace_of_root_ca(event: WatchEvent) -> list[ObjectKey]:
    """A change to a `kube-root-ca.crt` ConfigMap means its namespace needs a look."""
    meta = event.object["metadata"]
    if meta["name"] != ROOT_CA_CONFIGMAP:
        return []
    return [ObjectKey(_NAMESPACES, "", meta.get("namespace", ""))]


class RootCACertPublisher:
    """Keeps `kube-root-ca.crt` with `ca.crt` = the cluster's CA (PEM) in every Active namespace."""

    name = "root-ca-cert-publisher"

    def __init__(self, store: Store, clock: Clock, *, ca_pem: str) -> None:
        self._store = store
        self._clock = clock
        self._ca_pem = ca_pem
        self._namespaces = store.catalog.lookup("", "v1", "namespaces")
        self._configmaps = store.catalog.lookup("", "v1", "configmaps")

    def watches(self) -> Sequence[Watched]:
        return [Watched("", "v1", "namespaces"), Watched("", "v1", "configmaps", namespace_of_root_ca)]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            namespace = self._store.get(self._namespaces, None, key.name)
        except NotFoundError:
            return None
        if is_being_deleted(namespace) or (namespace.get("status") or {}).get("phase", "Active") != "Active":
            return None
        wanted = {
            "metadata": {
                "name": ROOT_CA_CONFIGMAP,
                "namespace": key.name,
                "annotations": {"kubernetes.io/description": DESCRIPTION},
            },
            "data": {"ca.crt": self._ca_pem},
        }
        try:
            current = self._store.get(self._configmaps, key.name, ROOT_CA_CONFIGMAP)
        except NotFoundError:
            try:
                self._store.create(self._configmaps, wanted, namespace=key.name)
            except (AlreadyExistsError, ForbiddenError):
                # Created meanwhile (its event brings us back), or the namespace began terminating.
                return None
            return None
        if current.get("data") == wanted["data"]:
            return None
        updated = {**current, "data": wanted["data"]}
        try:
            self._store.replace(self._configmaps, updated, namespace=key.name)
        except (ConflictError, NotFoundError):
            # Changed or deleted meanwhile: its event brings us back.
            return None
        return None
