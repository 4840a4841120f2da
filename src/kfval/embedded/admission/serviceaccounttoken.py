"""The ServiceAccount admission plug-in's part that in-cluster clients depend on: the API access volume.

A program in a pod finds the API server the way `rest.InClusterConfig` (and the Python client's
`load_incluster_config`) looks: a token, the cluster's CA and the namespace as files under
/var/run/secrets/kubernetes.io/serviceaccount. kube-apiserver's ServiceAccount plug-in puts them
there by adding a projected `kube-api-access-<suffix>` volume to every new pod whose token is
automounted (the pod's `automountServiceAccountToken`, else its account's, default true) and
mounting it read-only in every container that has nothing mounted at that path yet. The kubelet
then fills the token with one of the pod's ServiceAccount.
"""

from __future__ import annotations

import copy
from typing import Any

from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.admission.podaccount import PodAccounts, creates_pod
from kfval.embedded.store.naming import generate_suffix
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def api_access_volume(name: str) -> Body:
    """The projected volume exactly as the plug-in writes it (token, ca.crt, namespace; mode 0644)."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def _mounts_api_path(container: Body) -> bool:
    return any(mount.get("mountPath") == MOUNT_PATH for mount in container.get("volumeMounts") or [])


class ServiceAccountTokenVolume:
    """Adds the API access volume to a new pod and mounts it in each of its containers."""

    def __init__(self, store: Store) -> None:
        self._accounts = PodAccounts(store)

    def mutate(self, request: AdmissionRequest) -> Body | None:
        if not creates_pod(request):
            return None
        spec = request.object.get("spec") or {}
        if not self._automounts(spec, request.namespace):
            return None
        containers = [c for field in CONTAINER_FIELDS for c in spec.get(field) or [] if not _mounts_api_path(c)]
        if not containers:
            return None
        pod = copy.deepcopy(request.object)
        pod_spec: dict[str, Any] = pod.setdefault("spec", {})
        name = VOLUME_PREFIX + generate_suffix()
        pod_spec.setdefault("volumes", []).append(api_access_volume(name))
        mount = {"name": name, "readOnly": True, "mountPath": MOUNT_PATH}
        for field in CONTAINER_FIELDS:
            for container in pod_spec.get(field) or []:
                if not _mounts_api_path(container):
                    container.setdefault("volumeMounts", []).append(dict(mount))
        return pod

    def _automounts(self, spec: Body, namespace: str) -> bool:
        """The pod's own choice, else its account's (when it exists yet), else true."""
        if spec.get("automountServiceAccountToken") is not None:
            return bool(spec["automountServiceAccountToken"])
        account = self._accounts.of(spec, namespace)
        return account is None or account.get("automountServiceAccountToken") is not False
