"""The ServiceAccount admission plug-in's part that image pulls depend on: a pod without
`imagePullSecrets` gets those of its service account.

Clusters commonly attach a registry's pull secret to the namespace's `default` service account
instead of to each pod (`kubectl patch serviceaccount default -p '{"imagePullSecrets": ...}'`);
the kubelet only ever reads the pod's own list, so the plug-in copies them in when the pod is
created, as kube-apiserver's ServiceAccount plug-in does.
"""

from __future__ import annotations

import copy

from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.admission.podaccount import PodAccounts, creates_pod
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body


class ServiceAccountPullSecrets:
    """Copies the service account's imagePullSecrets into a new pod that names none."""

    def __init__(self, store: Store) -> None:
        self._accounts = PodAccounts(store)

    def mutate(self, request: AdmissionRequest) -> Body | None:
        if not creates_pod(request):
            return None
        spec = request.object.get("spec") or {}
        if spec.get("imagePullSecrets"):
            return None
        account = self._accounts.of(spec, request.namespace)
        if account is None:
            return None
        secrets = [{"name": ref["name"]} for ref in account.get("imagePullSecrets") or [] if ref.get("name")]
        if not secrets:
            return None
        pod = copy.deepcopy(request.object)
        pod.setdefault("spec", {})["imagePullSecrets"] = secrets
        return pod
