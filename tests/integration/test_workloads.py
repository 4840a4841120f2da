"""Controllers seen from kubectl: a Job to completion, StatefulSet ordinals, an RWX claim shared by two pods,
Events, and the protobuf access review behind `kubectl auth can-i`."""

from __future__ import annotations

import json

import pytest

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.integration

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: busybox, command: ["sh", "-c", "echo counted"]}
"""

STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: main, image: busybox, command: ["sh", "-c", "echo $(hostname); sleep 3600"]}
"""

SHARED_CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo written-by-writer > /data/note"]
    volumeMounts: [{name: data, mountPath: /data}]
"""

READER = """
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
  containers:
  - name: main
    image: busybox
    command: ["cat", "/workspace/note"]
    volumeMounts: [{name: data, mountPath: /workspace}]
"""


def test_job_runs_to_completion(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=JOB)
    kubectl.run("wait", "-n", namespace, "--for=condition=Complete", "job/count", "--timeout=60s", timeout=90)
    job = json.loads(kubectl.run("get", "job", "count", "-n", namespace, "-o", "json").stdout)
    assert job["status"]["succeeded"] == 2
    events = kubectl.run("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=count").stdout
    assert "SuccessfulCreate" in events and "Completed" in events


def test_statefulset_pods_have_ordinal_names_and_hostnames(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=STATEFULSET)
    kubectl.run("rollout", "status", "statefulset/db", "-n", namespace, "--timeout=60s", timeout=90)
    names = kubectl.run("get", "pods", "-n", namespace, "-l", "app=db", "-o", "name").stdout.split()
    assert names == ["pod/db-0", "pod/db-1"]
    assert kubectl.run("logs", "db-1", "-n", namespace).stdout == "db-1\n"


def test_read_write_many_claim_is_shared_between_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=SHARED_CLAIM)
    kubectl.run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/writer", "--timeout=60s")
    claim = json.loads(kubectl.run("get", "pvc", "shared", "-n", namespace, "-o", "json").stdout)
    assert claim["status"]["phase"] == "Bound"
    assert claim["status"]["accessModes"] == ["ReadWriteMany"]
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=READER)
    kubectl.run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/reader", "--timeout=60s")
    assert kubectl.run("logs", "reader", "-n", namespace).stdout == "written-by-writer\n"


def test_auth_can_i_answers_through_a_protobuf_access_review(kubectl: Kubectl, namespace: str) -> None:
    assert kubectl.run("auth", "can-i", "create", "pods", "-n", namespace).stdout.strip() == "yes"
