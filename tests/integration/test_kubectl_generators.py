"""kubectl's `create <generator>` commands, which send protobuf bodies, and the rollout history they start."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration


def _get(kubectl: Kubectl, namespace: str, *what: str) -> Any:
    return json.loads(kubectl.run("-n", namespace, "get", *what, "-o", "json").stdout)


def test_create_deployment_job_service_serviceaccount_and_token(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "deployment", "web", "--image=busybox", "--", "sleep", "3600")
    kubectl.run("-n", namespace, "create", "job", "j", "--image=busybox", "--", "echo", "hi")
    kubectl.run("-n", namespace, "create", "service", "clusterip", "s", "--tcp=80:8080")
    kubectl.run("-n", namespace, "create", "serviceaccount", "sa")
    token = kubectl.run("-n", namespace, "create", "token", "sa").stdout.strip()
    kubectl.run("-n", namespace, "create", "role", "reader", "--verb=get", "--resource=pods")
    kubectl.run("-n", namespace, "create", "rolebinding", "rb", "--role=reader", f"--serviceaccount={namespace}:sa")

    deployment = _get(kubectl, namespace, "deployment", "web")
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"], container["command"]) == ("busybox", "busybox", ["sleep", "3600"])
    assert deployment["spec"]["replicas"] == 1
    job = _get(kubectl, namespace, "job", "j")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    service = _get(kubectl, namespace, "service", "s")
    assert service["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert service["spec"]["selector"] == {"app": "s"}
    assert _get(kubectl, namespace, "serviceaccount", "sa")["metadata"]["name"] == "sa"
    assert token
    binding = _get(kubectl, namespace, "rolebinding", "rb")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sa", "namespace": namespace}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}


def _replicasets(kubectl: Kubectl, namespace: str) -> dict[str, tuple[str, int]]:
    """ReplicaSet name -> (revision, spec.replicas)."""
    items = _get(kubectl, namespace, "replicasets", "-l", "app=web")["items"]
    return {
        rs["metadata"]["name"]: (
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            rs["spec"]["replicas"],
        )
        for rs in items
    }


def test_rollout_undo_scales_the_old_replicaset_back_up(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "deployment", "web", "--image=busybox", "--", "sleep", "3600")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s")
    first = _replicasets(kubectl, namespace)
    assert len(first) == 1
    original = next(iter(first))
    kubectl.run("-n", namespace, "set", "image", "deployment/web", "busybox=busybox:1.36")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s")
    assert len(_replicasets(kubectl, namespace)) == 2

    kubectl.run("-n", namespace, "rollout", "undo", "deployment/web")
    kubectl.run("-n", namespace, "rollout", "status", "deployment/web", "--timeout=60s")

    def restored() -> dict[str, tuple[str, int]] | None:
        sets = _replicasets(kubectl, namespace)
        return sets if sets[original] == ("3", 1) else None

    after = eventually_blocking(restored, "revision 3 at one replica", timeout=30, interval=0.3)
    assert len(after) == 2, after
    assert sorted(replicas for _revision, replicas in after.values()) == [0, 1]


def test_selectors_and_job_templates_are_immutable(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("-n", namespace, "create", "deployment", "web", "--image=busybox", "--", "sleep", "3600")
    patch = '{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}'
    refused = kubectl.run("-n", namespace, "patch", "deployment", "web", "-p", patch, check=False)
    assert refused.returncode != 0
    assert "spec.selector: Invalid value:" in refused.stderr
    assert "field is immutable" in refused.stderr

    kubectl.run("-n", namespace, "create", "job", "j", "--image=busybox", "--", "sleep", "30")
    image = '{"spec":{"template":{"spec":{"containers":[{"name":"j","image":"busybox:1.36"}]}}}}'
    refused = kubectl.run("-n", namespace, "patch", "job", "j", "-p", image, check=False)
    assert refused.returncode != 0
    assert "spec.template: Invalid value:" in refused.stderr
    assert "field is immutable" in refused.stderr
