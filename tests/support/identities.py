"""Restricted identities on the test cluster: a ServiceAccount's token in a kubeconfig of its own, as a
CI stage holds one on a real cluster."""

from __future__ import annotations

from pathlib import Path

import yaml

from kfval.embedded import launch
from tests.support.kubectl import Kubectl


def kubeconfig_with_token(cluster: launch.ClusterInfo, token: str, path: Path) -> Path:
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    document["users"][0]["user"] = {"token": token}
    path.write_text(yaml.safe_dump(document))
    return path


def service_account(cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str, name: str, path: Path) -> Path:
    """Create the ServiceAccount `name` in `namespace`; a kubeconfig that holds its token (an hour)."""
    kubectl.run("-n", namespace, "create", "serviceaccount", name)
    token = kubectl.run("-n", namespace, "create", "token", name, "--duration=1h").stdout.strip()
    return kubeconfig_with_token(cluster, token, path)
