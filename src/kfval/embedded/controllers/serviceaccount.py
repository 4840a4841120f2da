"""Gives every namespace its `default` ServiceAccount, as kube-controller-manager's serviceaccount controller does.

Pods name `default` as their service account unless told otherwise, and clients such as
`kubectl create token` or Helm charts expect it to exist the moment a namespace does; deleting it
only makes it come back.
"""

from __future__ import annotations

from collections.abc import Sequence

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.reactor import Watched, is_being_deleted
from kfval.embedded.errors import AlreadyExistsError, ForbiddenError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import ObjectKey, ResourceKey, WatchEvent

DEFAULT_SERVICE_ACCOUNT = "default"
_NAMESPACES = ResourceKey("", "namespaces")


def namespace_of_default_account(event: WatchEvent) -> list[ObjectKey]:
    """A change to a `default` ServiceAccount means its namespace needs a look."""
    meta = event.object["metadata"]
    if meta["name"] != DEFAULT_SERVICE_ACCOUNT:
        return []
    return [ObjectKey(_NAMESPACES, "", meta.get("namespace", ""))]


class ServiceAccountController:
    """Ensures `default` exists in every Active namespace."""

    name = "serviceaccount-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._namespaces = store.catalog.lookup("", "v1", "namespaces")
        self._accounts = store.catalog.lookup("", "v1", "serviceaccounts")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("", "v1", "namespaces"),
            Watched("", "v1", "serviceaccounts", namespace_of_default_account),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            namespace = self._store.get(self._namespaces, None, key.name)
        except NotFoundError:
            return None
        phase = (namespace.get("status") or {}).get("phase", "Active")
        if is_being_deleted(namespace) or phase != "Active":
            return None
        if self._store.exists(self._accounts, key.name, DEFAULT_SERVICE_ACCOUNT):
            return None
        account = {"metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": key.name}}
        try:
            self._store.create(self._accounts, account, namespace=key.name)
        except (AlreadyExistsError, ForbiddenError):
            # Created meanwhile, or the namespace began terminating: nothing left to do.
            return None
        return None
