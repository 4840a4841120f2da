"""Applying manifests through discovery, against the embedded cluster with the suite's own client."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfval.kube import applying, client, errors, manifests
from tests.support.polling import eventually_blocking

pytestmark = pytest.mark.integration

LABELS = {"app.kubernetes.io/managed-by": "kfval", "kfval.dev/run-id": "run-1", "kfval.dev/scenario": "apply"}
POD_WAIT_SECONDS = 60.0

WORKLOADS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {team: qa}
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - {name: main, image: "${image}", command: ["sh", "-c", "sleep 3600"]}
---
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: mnist
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - {name: pytorch, image: "${image}", command: ["sh", "-c", "echo $${HOSTNAME}"]}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "manifests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pods_of(conn: client.Connection, namespace: str, selector: str) -> list[client.Body]:
    def pods() -> list[client.Body]:
        items: list[client.Body] = conn.list("v1", "Pod", namespace, label_selector=selector)["items"]
        return items

    return eventually_blocking(pods, f"a pod with {selector} in {namespace}", timeout=POD_WAIT_SECONDS)


def test_a_multi_document_manifest_lands_labelled_with_its_pods(
    conn: client.Connection, namespace: str, tmp_path: Path
) -> None:
    documents = manifests.load(write(tmp_path, "workloads.yaml", WORKLOADS), {"image": "busybox"})
    applied = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
    assert applied == [
        applying.Applied("v1", "ConfigMap", "settings", namespace),
        applying.Applied("apps/v1", "Deployment", "web", namespace),
        applying.Applied("kubeflow.org/v1", "PyTorchJob", "mnist", namespace),
    ]
    for item in applied:
        labels = conn.get(item.api_version, item.kind, item.name, namespace)["metadata"]["labels"]
        assert labels.items() >= LABELS.items(), f"{item.kind} {item.name} lacks the run labels: {labels}"
    assert conn.get("v1", "ConfigMap", "settings", namespace)["metadata"]["labels"]["team"] == "qa"
    [pod] = pods_of(conn, namespace, "app=web")
    assert pod["metadata"]["labels"].items() >= LABELS.items()
    job = conn.get("kubeflow.org/v1", "PyTorchJob", "mnist", namespace)
    master = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]
    assert master["metadata"]["labels"] == LABELS
    assert master["spec"]["containers"][0]["command"] == ["sh", "-c", "echo ${HOSTNAME}"]


def test_re_applying_the_same_manifest_changes_nothing(conn: client.Connection, namespace: str, tmp_path: Path) -> None:
    documents = manifests.load(write(tmp_path, "workloads.yaml", WORKLOADS), {"image": "busybox"})
    first = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
    before = [conn.get(i.api_version, i.kind, i.name, namespace)["metadata"] for i in first]
    again = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
    after = [conn.get(i.api_version, i.kind, i.name, namespace)["metadata"] for i in again]
    assert again == first
    assert [m["uid"] for m in after] == [m["uid"] for m in before]
    assert [m["resourceVersion"] for m in after] == [m["resourceVersion"] for m in before]
    assert [m.get("generation") for m in after] == [m.get("generation") for m in before]


def test_an_unserved_kind_fails_before_anything_is_sent(
    conn: client.Connection, namespace: str, tmp_path: Path
) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
        "apiVersion: kubeflow.org/v1\nkind: MPIJob\nmetadata: {name: mpi}\nspec: {}\n"
    )
    path = write(tmp_path, "mpijob.yaml", text)
    with pytest.raises(errors.MissingKindError) as caught:
        applying.apply(conn, manifests.load(path, {}), namespace=namespace, labels=LABELS)
    assert str(caught.value) == (
        f"{path}:5: MPIJob (kubeflow.org/v1) is not served by this cluster: "
        "is the Kubeflow training operator installed?"
    )
    with pytest.raises(errors.NotFoundError):
        conn.get("v1", "ConfigMap", "first", namespace)


def test_an_admission_rejection_names_the_document_and_the_field(
    conn: client.Connection, namespace: str, tmp_path: Path
) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: no-image\nspec:\n  containers:\n    - name: main\n"
    path = write(tmp_path, "pod-invalid.yaml", text)
    with pytest.raises(errors.InvalidError) as caught:
        applying.apply(conn, manifests.load(path, {}), namespace=namespace, labels=LABELS)
    assert str(caught.value) == (
        f'{path}:1: the cluster refused Pod "no-image": '
        'Pod "no-image" is invalid: spec.containers[0].image: Required value'
    )
    assert caught.value.status == 422


def test_a_document_for_another_namespace_is_refused(conn: client.Connection, namespace: str) -> None:
    documents = manifests.render_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n", {}, source="step"
    )
    with pytest.raises(errors.ManifestError, match=rf'^step:1: ConfigMap "c" names namespace "default".*"{namespace}"'):
        applying.apply(conn, documents, namespace=namespace, labels=LABELS)


def test_a_cluster_scoped_object_is_applied_without_a_namespace(conn: client.Connection, namespace: str) -> None:
    name = f"kfval-{namespace}"
    documents = manifests.render_text(
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}}}\nrules: []\n",
        {},
        source="step",
    )
    try:
        applied = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
        assert applied == [applying.Applied("rbac.authorization.k8s.io/v1", "ClusterRole", name, None)]
        assert conn.get("rbac.authorization.k8s.io/v1", "ClusterRole", name)["metadata"]["labels"] == LABELS
    finally:
        conn.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name)


def test_a_kind_defined_earlier_in_the_same_manifest_is_applied_once_served(
    conn: client.Connection, namespace: str
) -> None:
    group = f"{namespace}.kfval.dev"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    documents = [manifests.Document(crd, "step", 1), manifests.Document(widget, "step", 20)]
    try:
        applied = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
        assert applied[1] == applying.Applied(f"{group}/v1", "Widget", "w", namespace)
        assert conn.get(f"{group}/v1", "Widget", "w", namespace)["spec"] == {"size": 1}
    finally:
        conn.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")


def test_an_object_named_by_generate_name_is_created_each_time_with_the_run_labels(
    conn: client.Connection, namespace: str
) -> None:
    text = (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: fairing-builder-}\nspec:\n  backoffLimit: 0\n"
        "  template:\n    spec:\n      restartPolicy: Never\n"
        "      containers: [{name: kaniko, image: busybox, command: [true]}]\n"
    )
    documents = manifests.render_text(text, {}, source="step")
    first = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
    second = applying.apply(conn, documents, namespace=namespace, labels=LABELS)
    names = [first[0].name, second[0].name]
    assert all(name.startswith("fairing-builder-") and len(name) > len("fairing-builder-") for name in names)
    assert names[0] != names[1], "a generateName object is created anew, not applied over the last one"
    job = conn.get("batch/v1", "Job", names[0], namespace)
    assert job["metadata"]["labels"].items() >= LABELS.items()
    assert job["spec"]["template"]["metadata"]["labels"].items() >= LABELS.items()
