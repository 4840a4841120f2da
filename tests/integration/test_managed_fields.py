"""Field ownership as kube-apiserver records it: plain writes make their client an `Update` manager, so a
later server-side apply by someone else conflicts on the fields that client changed (real kubectl)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.integration

CONFIG = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
"""


def _managers(kubectl: Any, namespace: str) -> dict[str, Any]:
    live = kubectl.run("-n", namespace, "get", "configmap", "settings", "-o", "json", "--show-managed-fields")
    return {entry["manager"]: entry for entry in json.loads(live.stdout)["metadata"]["managedFields"]}


def test_a_patch_by_kubectl_is_owned_and_conflicts_with_a_later_apply(kubectl: Any, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "configmap", "settings", "--from-literal=mode=a")
    assert _managers(kubectl, namespace)["kubectl-create"]["fieldsV1"] == {"f:data": {"f:mode": {}}}
    kubectl.run("-n", namespace, "patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"mode":"b"}}')
    managers = _managers(kubectl, namespace)
    assert managers["kubectl-patch"]["operation"] == "Update"
    assert managers["kubectl-patch"]["fieldsV1"] == {"f:data": {"f:mode": {}}}
    assert "kubectl-create" not in managers, "the patch took the only field kubectl create owned"
    refused = kubectl.run(
        "-n", namespace, "apply", "--server-side", "--field-manager", "qa", "-f", "-",
        stdin=CONFIG.format(mode="c"), check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert 'conflict with "kubectl-patch"' in refused.stderr, refused.stderr
    kubectl.run(
        "-n", namespace, "apply", "--server-side", "--force-conflicts", "--field-manager", "qa", "-f", "-",
        stdin=CONFIG.format(mode="c"),
    )  # fmt: skip
    assert set(_managers(kubectl, namespace)) == {"qa"}
