"""The shipped Kubeflow CRDs: they load, the catalog serves them, and they carry what Kubeflow 1.8 declares."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from kfval.embedded.admission.chain import Admission
from kfval.embedded.clock import SystemClock
from kfval.embedded.store.catalog import Catalog, types_of_crd
from kfval.embedded.store.objects import Store
from kfval.embedded.types import PrinterColumn, ResourceType

NAMES = (
    "pytorchjobs.kubeflow.org",
    "tfjobs.kubeflow.org",
    "notebooks.kubeflow.org",
    "poddefaults.kubeflow.org",
)
STATE_AND_AGE = (
    PrinterColumn(name="State", type="string", json_path=".status.conditions[-1:].type"),
    PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp"),
)


def _crd(name: str) -> dict[str, Any]:
    text = resources.files("kfval.embedded").joinpath("crds", f"{name}.yaml").read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def _types(name: str) -> dict[str, ResourceType]:
    return {rt.version: rt for rt in types_of_crd(_crd(name))}


@pytest.mark.parametrize("name", NAMES)
def test_each_crd_loads_and_is_named_for_its_resource(name: str) -> None:
    crd = _crd(name)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}" == name
    assert crd["spec"]["scope"] == "Namespaced"
    assert [v["name"] for v in crd["spec"]["versions"] if v.get("storage")] == [
        "v1alpha1" if name.startswith("poddefaults") else "v1"
    ]
    for rt in types_of_crd(crd):
        assert rt.group == "kubeflow.org"
        assert rt.namespaced
        assert rt.short_names == ()
        assert rt.schema is not None
        assert rt.schema["type"] == "object"


def test_pytorchjob_has_status_scale_and_state_column() -> None:
    rt = _types("pytorchjobs.kubeflow.org")["v1"]
    assert (rt.kind, rt.resource, rt.singular) == ("PyTorchJob", "pytorchjobs", "pytorchjob")
    assert rt.subresources == frozenset({"status", "scale"})
    assert rt.printer_columns == STATE_AND_AGE
    scale = _crd("pytorchjobs.kubeflow.org")["spec"]["versions"][0]["subresources"]["scale"]
    assert scale == {
        "specReplicasPath": ".spec.pytorchReplicaSpecs.Worker.replicas",
        "statusReplicasPath": ".status.replicaStatuses.Worker.active",
        "labelSelectorPath": ".status.replicaStatuses.Worker.selector",
    }
    spec = rt.schema["properties"]["spec"] if rt.schema else {}
    assert spec["required"] == ["pytorchReplicaSpecs"]
    replica = spec["properties"]["pytorchReplicaSpecs"]["additionalProperties"]
    assert replica["properties"]["restartPolicy"]["enum"] == ["Always", "OnFailure", "Never", "ExitCode"]
    assert replica["properties"]["template"]["x-kubernetes-preserve-unknown-fields"] is True
    run_policy = spec["properties"]["runPolicy"]["properties"]
    assert run_policy["suspend"]["default"] is False
    assert run_policy["cleanPodPolicy"]["enum"] == ["All", "Running", "None"]


def test_tfjob_has_status_only_and_state_column() -> None:
    rt = _types("tfjobs.kubeflow.org")["v1"]
    assert (rt.kind, rt.resource) == ("TFJob", "tfjobs")
    assert rt.subresources == frozenset({"status"})
    assert rt.printer_columns == STATE_AND_AGE
    spec = rt.schema["properties"]["spec"] if rt.schema else {}
    assert spec["required"] == ["tfReplicaSpecs"]
    assert {"successPolicy", "enableDynamicWorker", "runPolicy"} <= set(spec["properties"])


def test_notebook_serves_three_versions_with_a_status_subresource() -> None:
    types = _types("notebooks.kubeflow.org")
    assert sorted(types) == ["v1", "v1alpha1", "v1beta1"]
    for rt in types.values():
        assert rt.kind == "Notebook"
        assert rt.subresources == frozenset({"status"})
        assert rt.printer_columns == ()
        status = rt.schema["properties"]["status"] if rt.schema else {}
        assert status["required"] == ["conditions", "containerState", "readyReplicas"]


def test_poddefault_requires_a_selector_and_has_no_subresources() -> None:
    rt = _types("poddefaults.kubeflow.org")["v1alpha1"]
    assert (rt.kind, rt.resource) == ("PodDefault", "poddefaults")
    assert rt.subresources == frozenset()
    spec = rt.schema["properties"]["spec"] if rt.schema else {}
    assert spec["required"] == ["selector"]
    assert {
        "desc",
        "selector",
        "env",
        "envFrom",
        "volumes",
        "volumeMounts",
        "annotations",
        "labels",
        "serviceAccountName",
        "automountServiceAccountToken",
        "tolerations",
        "command",
        "args",
        "initContainers",
        "sidecars",
    } <= set(spec["properties"])


def test_stored_crd_registers_its_kinds_and_admission_applies_schema_defaults() -> None:
    catalog = Catalog()
    store = Store(catalog, SystemClock())
    store.register_catalog_hook()
    store.create(catalog.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions"), _crd(NAMES[0]))
    rt = catalog.lookup("kubeflow.org", "v1", "pytorchjobs")
    body = {
        "metadata": {"name": "mnist"},
        "spec": {"runPolicy": {"cleanPodPolicy": "None"}, "pytorchReplicaSpecs": {"Master": {"replicas": 1}}},
    }
    admitted = Admission().admit(rt, body, operation="CREATE", old=None, namespace="team")
    assert admitted["spec"]["runPolicy"] == {"cleanPodPolicy": "None", "suspend": False}
    assert "replicas" in admitted["spec"]["pytorchReplicaSpecs"]["Master"]
