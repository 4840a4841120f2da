"""The notebook controller as kubectl sees it: a Notebook's StatefulSet, Service and VirtualService, its
status once the Jupyter server answers, and its children gone with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

NOTEBOOK = """apiVersion: kubeflow.org/v1
kind: Notebook
metadata:
  name: nb
  labels:
    team: qa
spec:
  template:
    spec:
      containers:
      - name: nb
        image: kubeflownotebookswg/jupyter-scipy:v1.9.2
        readinessProbe:
          httpGet: {{path: /notebook/{namespace}/nb/api, port: 8888}}
          periodSeconds: 1
"""


def _get(kubectl: Any, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl.run("-n", namespace, "get", kind, name, "-o", "json").stdout))


def test_a_notebook_gets_its_children_and_a_status_and_takes_them_with_it(kubectl: Any, namespace: str) -> None:
    kubectl.run("-n", namespace, "apply", "-f", "-", stdin=NOTEBOOK.format(namespace=namespace))
    kubectl.run(
        "-n",
        namespace,
        "wait",
        "notebook/nb",
        "--for=jsonpath={.status.readyReplicas}=1",
        "--timeout=120s",
        timeout=150,
    )
    sts = _get(kubectl, namespace, "statefulset", "nb")
    assert sts["metadata"]["ownerReferences"][0]["apiVersion"] == "kubeflow.org/v1beta1"
    assert sts["spec"]["template"]["metadata"]["labels"] == {"statefulset": "nb", "notebook-name": "nb", "team": "qa"}
    service = _get(kubectl, namespace, "service", "nb")
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [("http-nb", 80, 8888)]
    virtualservice = _get(kubectl, namespace, "virtualservice", f"notebook-{namespace}-nb")
    assert virtualservice["spec"]["gateways"] == ["kubeflow/kubeflow-gateway"]
    status = _get(kubectl, namespace, "notebook", "nb")["status"]
    assert "running" in status["containerState"]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    answer = kubectl.run("-n", namespace, "exec", "nb-0", "--", "sh", "-c", "echo $NB_PREFIX").stdout
    assert answer == f"/notebook/{namespace}/nb\n"
    kubectl.run("-n", namespace, "delete", "notebook", "nb")

    def children() -> str:
        return kubectl.run("-n", namespace, "get", "statefulsets,services,virtualservices,pods", "-o", "name").stdout

    eventually_blocking(lambda: children().strip() == "", "the notebook's children deleted", timeout=60)
