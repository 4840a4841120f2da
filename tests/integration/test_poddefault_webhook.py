"""The PodDefault webhook as kubectl meets it: injection into a profile namespace's pods, and a conflict
refused as `Error from server: ... admission webhook "..." denied the request: ...` (a 400 without reason)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PODDEFAULT = """apiVersion: kubeflow.org/v1alpha1
kind: PodDefault
metadata:
  name: {name}
spec:
  desc: {name}
  selector:
    matchLabels:
      testing: "true"
  env:
  - name: POD_DEFAULT
    value: {value}
"""

POD = """apiVersion: v1
kind: Pod
metadata:
  name: nb-0
  labels:
    testing: "true"
spec:
  restartPolicy: Never
  containers:
  - name: notebook
    image: busybox
    command: ["sh", "-c", "echo POD_DEFAULT=$POD_DEFAULT"]
"""


def test_a_poddefault_reaches_the_running_process_and_a_conflict_is_refused(kubectl: Any, namespace: str) -> None:
    kubectl.run("label", "namespace", namespace, "app.kubernetes.io/part-of=kubeflow-profile")
    kubectl.run(
        "-n", namespace, "apply", "-f", "-", stdin=PODDEFAULT.format(name="alpha", value='"Testing is enabled"')
    )
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=POD)
    kubectl.run("-n", namespace, "wait", "pod/nb-0", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=60s")
    assert kubectl.run("-n", namespace, "logs", "nb-0").stdout == "POD_DEFAULT=Testing is enabled\n"
    created = json.loads(kubectl.run("-n", namespace, "get", "pod", "nb-0", "-o", "json").stdout)
    assert "poddefault.admission.kubeflow.org/poddefault-alpha" in created["metadata"]["annotations"]
    kubectl.run("-n", namespace, "delete", "pod", "nb-0", "--wait=true", "--timeout=60s")
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=PODDEFAULT.format(name="beta", value="other"))
    refused = kubectl.run("-n", namespace, "apply", "-f", "-", stdin=POD, check=False)
    assert refused.returncode != 0
    assert refused.stderr.startswith(
        'Error from server: error when creating "STDIN": admission webhook "admission-webhook-deployment.kubeflow.org" '
        "denied the request: conflict occurred while applying poddefaults: alpha,beta on pod: nb-0 err: "
        "merging env for beta has a conflict on POD_DEFAULT: "
    ), refused.stderr
