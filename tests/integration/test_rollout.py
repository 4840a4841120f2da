"""`kubectl rollout undo` and `rollout history` against the deployment controller's revision bookkeeping."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def _replicasets(kubectl: Any, namespace: str) -> dict[str, dict[str, str]]:
    listed = json.loads(kubectl.run("-n", namespace, "get", "replicasets", "-o", "json").stdout)["items"]
    return {
        item["spec"]["template"]["spec"]["containers"][0]["image"]: item["metadata"].get("annotations") or {}
        for item in listed
    }


def test_rollout_undo_records_the_revision_history_and_the_change_cause(kubectl: Any, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "deployment", "web", "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    kubectl.run("-n", namespace, "set", "image", "deployment/web", "busybox=busybox:1.37")
    kubectl.run("-n", namespace, "annotate", "deployment/web", "kubernetes.io/change-cause=upgrade busybox")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    kubectl.run("-n", namespace, "rollout", "undo", "deployment/web")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    by_image = _replicasets(kubectl, namespace)
    assert by_image["busybox:1.36"]["deployment.kubernetes.io/revision"] == "3"
    assert by_image["busybox:1.36"]["deployment.kubernetes.io/revision-history"] == "1"
    assert by_image["busybox:1.37"]["deployment.kubernetes.io/revision"] == "2"
    assert by_image["busybox:1.37"]["kubernetes.io/change-cause"] == "upgrade busybox"
    history = kubectl.run("-n", namespace, "rollout", "history", "deployment/web").stdout
    rows = [line.split(None, 1) for line in history.splitlines()[2:] if line.strip()]
    assert [row[0] for row in rows] == ["2", "3"], history
    assert rows[0][1].strip() == "upgrade busybox", history
