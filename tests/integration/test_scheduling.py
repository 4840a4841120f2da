"""The embedded scheduler refuses a pod the node cannot hold, as kube-scheduler words it (real kubectl)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration


def _scheduled(kubectl: Any, namespace: str, name: str) -> dict[str, Any] | None:
    pod = json.loads(kubectl.run("-n", namespace, "get", "pod", name, "-o", "json").stdout)
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), None)


def test_more_cpu_than_the_node_has_is_unschedulable_with_the_schedulers_words(kubectl: Any, namespace: str) -> None:
    node = json.loads(kubectl.run("get", "nodes", "-o", "json").stdout)["items"][0]
    cpus = int(node["status"]["allocatable"]["cpu"])
    container = {"name": "greedy", "image": "busybox", "command": ["sleep", "60"]}
    container["resources"] = {"requests": {"cpu": str(cpus + 1)}}
    overrides = json.dumps({"spec": {"containers": [container]}})
    kubectl.run("-n", namespace, "run", "greedy", "--image=busybox", "--restart=Never", f"--overrides={overrides}")
    condition = eventually_blocking(lambda: _scheduled(kubectl, namespace, "greedy"), "PodScheduled", timeout=30)
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."
    )
    events = kubectl.run("-n", namespace, "get", "events", "--field-selector", "reason=FailedScheduling").stdout
    assert "Insufficient cpu" in events
