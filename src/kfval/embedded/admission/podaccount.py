"""What the ServiceAccount admission plug-in's parts share: the requests they act on (a pod being created)
and the ServiceAccount that pod runs as, which may not exist yet (the controller makes `default` a moment
after its namespace)."""

from __future__ import annotations

from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ResourceKey

PODS = ResourceKey("", "pods")


def creates_pod(request: AdmissionRequest) -> bool:
    return request.rt.key == PODS and request.operation == "CREATE" and request.subresource is None


class PodAccounts:
    """The ServiceAccount a pod spec names (`serviceAccountName`, the deprecated `serviceAccount`, else
    `default`), read from the store at admission."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._accounts = store.catalog.lookup("", "v1", "serviceaccounts")

    def of(self, spec: Body, namespace: str) -> Body | None:
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        try:
            return self._store.get(self._accounts, namespace, name)
        except NotFoundError:
            return None
