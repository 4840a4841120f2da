"""`metrics.k8s.io` on the embedded cluster: PodMetrics and NodeMetrics read through the official Python
client and through `kubectl top`, for a pod that burns CPU and holds memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, CustomObjectsApi
from kubernetes.utils import parse_quantity

from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

BURNER = """
apiVersion: v1
kind: Pod
metadata: {name: burner, labels: {app: burner}}
spec:
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-c", "b = bytearray(80 * 1024 * 1024)\\nwhile True: b[0] = (b[0] + 1) % 256"]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {memory: 256Mi}
"""


def _burner(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=BURNER)
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/burner", "--timeout=60s", timeout=90)


def test_pod_metrics_through_the_python_client_show_the_cpu_and_memory_a_pod_uses(
    api: ApiClient, kubectl: Kubectl, namespace: str
) -> None:
    _burner(kubectl, namespace)
    metrics = CustomObjectsApi(api)

    def busy() -> dict[str, Any] | None:
        found: dict[str, Any] = metrics.get_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", namespace, "pods", "burner"
        )
        usage = found["containers"][0]["usage"]
        # the CPU shows while Python still zeroes its 80 MiB, so wait for both
        grown = parse_quantity(usage["memory"]) >= 80 * 1024 * 1024
        return found if parse_quantity(usage["cpu"]) > parse_quantity("300m") and grown else None

    pod = eventually_blocking(busy, "the burner to use more than 0.3 CPU and its 80 MiB", timeout=30)
    assert pod["kind"] == "PodMetrics"
    assert pod["metadata"]["labels"] == {"app": "burner"}
    assert pod["window"].endswith("s") and pod["timestamp"].endswith("Z")
    (container,) = pod["containers"]
    assert container["name"] == "main"
    assert parse_quantity(container["usage"]["memory"]) >= 80 * 1024 * 1024
    listed = metrics.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", namespace, "pods", label_selector="app=burner"
    )
    assert [item["metadata"]["name"] for item in listed["items"]] == ["burner"]
    none = metrics.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", namespace, "pods", label_selector="app=other"
    )
    assert none["items"] == []
    node = metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"][0]
    assert node["kind"] == "NodeMetrics"
    assert parse_quantity(node["usage"]["memory"]) > parse_quantity(container["usage"]["memory"])


def test_kubectl_top_shows_pods_and_nodes(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    _burner(kubectl, namespace)
    pods = kubectl.run("top", "pod", "-n", namespace).stdout
    header, row = pods.splitlines()
    assert header.split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    name, cpu, memory = row.split()
    assert name == "burner" and cpu.endswith("m") and memory.endswith("Mi")
    assert int(memory.removesuffix("Mi")) >= 80
    containers = kubectl.run("top", "pod", "burner", "-n", namespace, "--containers").stdout
    assert containers.splitlines()[1].split()[:2] == ["burner", "main"]
    nodes = kubectl.run("top", "node").stdout
    assert nodes.splitlines()[0].split()[:3] == ["NAME", "CPU(cores)", "CPU(%)"]
    assert nodes.splitlines()[1].split()[0] == "kfval-node"
