"""Pods as a kubelet runs them: mounted secrets, env from config maps, exit codes, image pull failures, ports."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from kfval.embedded import launch
from tests.support.kubectl import Kubectl
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration


def pod_json(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(kubectl.run("get", "pod", name, "-n", namespace, "-o", "json").stdout)  # type: ignore[no-any-return]


def test_pod_reads_a_mounted_secret_and_env_from_a_configmap(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("create", "secret", "generic", "creds", "-n", namespace, "--from-literal=token=abc123")
    kubectl.run("create", "configmap", "settings", "-n", namespace, "--from-literal=mode=fast")
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  volumes:
  - name: creds
    secret: {secretName: creds}
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo token=$(cat /etc/creds/token) mode=$MODE"]
    env:
    - name: MODE
      valueFrom: {configMapKeyRef: {name: settings, key: mode}}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds, readOnly: true}
"""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl.run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/reader", "--timeout=60s")
    assert kubectl.run("logs", "reader", "-n", namespace).stdout == "token=abc123 mode=fast\n"


def test_exit_one_under_restart_never_fails_the_pod(kubectl: Kubectl, namespace: str) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: failing}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "echo about to fail; exit 1"]}
"""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl.run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Failed", "pod/failing", "--timeout=60s")
    status = pod_json(kubectl, namespace, "failing")["status"]
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 1
    assert terminated["reason"] == "Error"


def test_unknown_image_is_in_image_pull_back_off_within_ten_seconds(kubectl: Kubectl, namespace: str) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  containers:
  - {name: main, image: "registry.invalid/no/such-image:1.0"}
"""
    started = time.monotonic()
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl.run(
        "wait",
        "-n",
        namespace,
        "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
        "pod/nowhere",
        "--timeout=10s",
        timeout=20,
    )
    assert time.monotonic() - started < 10


def test_two_pods_listening_on_the_same_port_both_become_ready(kubectl: Kubectl, namespace: str) -> None:
    template = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: same-port}}}}
spec:
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-m", "http.server", "8080"]
    readinessProbe:
      httpGet: {{path: /, port: 8080}}
      periodSeconds: 1
"""
    for name in ("left", "right"):
        kubectl.run("apply", "-n", namespace, "-f", "-", stdin=template.format(name=name))
    kubectl.run(
        "wait", "-n", namespace, "--for=condition=Ready", "pod", "-l", "app=same-port", "--timeout=60s", timeout=90
    )
    left, right = (pod_json(kubectl, namespace, n)["status"] for n in ("left", "right"))
    assert left["podIP"] != right["podIP"]
    assert left["containerStatuses"][0]["restartCount"] == 0
    assert right["containerStatuses"][0]["restartCount"] == 0


def test_a_readiness_probe_on_a_named_port_makes_the_pod_ready(kubectl: Kubectl, namespace: str) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: named-port}
spec:
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-m", "http.server", "8080"]
    ports:
    - {name: http, containerPort: 8080}
    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 1
"""
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/named-port", "--timeout=60s", timeout=90)
    assert pod_json(kubectl, namespace, "named-port")["status"]["containerStatuses"][0]["ready"] is True


def test_deleted_pods_leave_no_directories_or_logs_behind(
    cluster: launch.ClusterInfo, kubectl: Kubectl, namespace: str
) -> None:
    template = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: {policy}
  terminationGracePeriodSeconds: 1
  volumes:
  - {{name: scratch, emptyDir: {{}}}}
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo hello > /scratch/file; echo logged; {tail}"]
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
"""
    pods = {"finished": ("Never", "true"), "running": ("Always", "sleep 3600")}
    for name, (policy, tail) in pods.items():
        kubectl.run("apply", "-n", namespace, "-f", "-", stdin=template.format(name=name, policy=policy, tail=tail))
    kubectl.run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/finished", "--timeout=60s")
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/running", "--timeout=60s")
    pods_root = cluster.state_dir / "pods"
    uids = [pod_json(kubectl, namespace, name)["metadata"]["uid"] for name in pods]
    assert all(any(uid in path.name for path in pods_root.iterdir()) for uid in uids)
    kubectl.run("delete", "pod", "finished", "running", "-n", namespace, "--wait=true", "--timeout=60s", timeout=90)
    eventually_blocking(
        lambda: not [path.name for path in pods_root.iterdir() if any(uid in path.name for uid in uids)],
        "the deleted pods' directories removed",
        timeout=10,
        interval=0.1,
    )
    assert not any((cluster.state_dir / uid).exists() for uid in uids)  # the hosts files' directories
